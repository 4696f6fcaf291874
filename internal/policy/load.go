package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
)

// Environment variables FromEnv reads.
const (
	// EnvPath names the policy file.
	EnvPath = "VPNGW_POLICY"
	// EnvInline holds the policy itself, for runtimes where shipping a file
	// is awkward (Function Compute). JSON is YAML, so a one-line JSON
	// document works too.
	EnvInline = "VPNGW_POLICY_INLINE"
)

// FileVersion is the only version of the policy file format.
const FileVersion = 1

// maxRuleNameLength bounds a rule name, which appears in every message.
const maxRuleNameLength = 64

var ruleNameFormat = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Shapes of literal region and VPC entries, as request checks them (its
// formats are unexported; these are the same expressions). A literal entry
// of another shape is a typo that would silently match nothing.
var (
	regionIDFormat = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)
	vpcIDFormat    = regexp.MustCompile(`^vpc-[a-z0-9]+$`)
)

// Problem is one thing wrong with a policy file: where (1-based line and
// column; 0 when the file as a whole is at fault), the path of the setting
// (rules[0].maxBandwidth), and what is wrong.
type Problem struct {
	Line, Column int
	Path         string
	Message      string
}

// Error lists every problem of a policy file, in file order. Its text has
// one line per problem: "policy.yaml:12: rules[0].maxBandwidth: ...".
type Error struct {
	// Name is the file path or the environment variable the policy came from.
	Name     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Name)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// Load reads and validates the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: read policy file: %w", err)
	}
	return Parse(path, data)
}

// FromEnv loads the policy the environment names: the file in VPNGW_POLICY,
// or the YAML in VPNGW_POLICY_INLINE. With neither set it returns (nil, nil):
// no policy is configured, and the caller decides what that means. Both set
// is an error, since either choice would ignore what someone configured.
func FromEnv(getenv func(string) string) (*Policy, error) {
	path, inline := getenv(EnvPath), getenv(EnvInline)
	switch {
	case path != "" && inline != "":
		return nil, fmt.Errorf("policy: both %s and %s are set; set one of them", EnvPath, EnvInline)
	case path != "":
		p, err := Load(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvPath, err)
		}
		return p, nil
	case inline != "":
		return Parse(EnvInline, []byte(inline))
	}
	return nil, nil
}

// Parse validates a policy document. name says where it came from and
// starts every problem line ("policy.yaml:12: ..."). Every problem is
// reported, not only the first; the error is then an *Error.
func Parse(name string, data []byte) (*Policy, error) {
	l := loader{name: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&doc)
	switch {
	case errors.Is(err, io.EOF):
		l.fail(nil, "", "the policy is empty; it needs at least version and rules")
		return nil, l.err()
	case err != nil:
		l.syntax(err)
		return nil, l.err()
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		l.fail(&next, "", "a second YAML document; the policy is one document (remove the '---')")
	} else if !errors.Is(err, io.EOF) {
		l.syntax(err)
	}

	p := &Policy{name: name}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	l.policy(root, p)
	if err := l.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// loader walks the YAML tree and collects problems.
type loader struct {
	name     string
	problems []Problem
}

func (l *loader) fail(n *yaml.Node, path, format string, args ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	l.problems = append(l.problems, p)
}

func (l *loader) err() error {
	if len(l.problems) == 0 {
		return nil
	}
	sort.SliceStable(l.problems, func(i, j int) bool {
		a, b := l.problems[i], l.problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return &Error{Name: l.name, Problems: l.problems}
}

// yamlLine finds the line in the parser's messages ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) syntax(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		l.problems = append(l.problems, Problem{Line: line, Message: "not valid YAML: " + m[2]})
		return
	}
	l.problems = append(l.problems, Problem{Message: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
}

// field is one key a mapping may hold.
type field struct {
	key      string
	required bool
	set      func(n *yaml.Node, path string)
}

// mapping applies fields to the mapping n: every key must be one of them,
// given once; required ones must be present.
func (l *loader) mapping(n *yaml.Node, path string, fields []field) bool {
	n = deref(n)
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	seen, ok := l.pairs(n, path, mappingWords, func(k, v *yaml.Node, kp string) {
		idx := slices.Index(keys, k.Value)
		if idx < 0 {
			l.fail(k, kp, "unknown key%s; the keys here are %s", suggest(k.Value, keys), strings.Join(keys, ", "))
			return
		}
		fields[idx].set(v, kp)
	})
	if !ok {
		return false
	}
	for _, f := range fields {
		if f.required && !seen[f.key] {
			l.fail(n, join(path, f.key), "required, and missing")
		}
	}
	return true
}

// pairWords are what a walk over a mapping says of a node that is not one,
// of a key that is not a scalar, and of a key given twice.
type pairWords struct{ notMapping, badKey, twice string }

var (
	mappingWords = pairWords{"want a mapping (key: value lines)", "a key must be a plain word", "given twice"}
	tagWords     = pairWords{"want a mapping of tag keys to values", "a tag key must be text", "tag key given twice"}
)

// pairs calls each for every key and value of the mapping n, in file order,
// after refusing keys that are not scalars or come twice. It returns the keys
// seen, and false when n is not a mapping.
func (l *loader) pairs(n *yaml.Node, path string, words pairWords, each func(k, v *yaml.Node, kp string)) (map[string]bool, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.fail(n, path, "%s, got %s", words.notMapping, describe(n))
		return nil, false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		kp := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			l.fail(k, path, "%s, got %s", words.badKey, describe(k))
			continue
		}
		if seen[k.Value] {
			l.fail(k, kp, "%s", words.twice)
			continue
		}
		seen[k.Value] = true
		each(k, v, kp)
	}
	return seen, true
}

func (l *loader) policy(n *yaml.Node, p *Policy) {
	l.mapping(n, "", []field{
		{key: "version", required: true, set: func(v *yaml.Node, path string) {
			if x, ok := l.integer(v, path); ok {
				if x != FileVersion {
					l.fail(v, path, "version %d is not known; this vpngw reads version %d", x, FileVersion)
				}
			}
		}},
		{key: "dryRun", set: func(v *yaml.Node, path string) { p.DryRun, _ = l.boolean(v, path) }},
		{key: "orphans", set: func(v *yaml.Node, path string) { l.orphansKey(v, path, p) }},
		{key: "rules", required: true, set: func(v *yaml.Node, path string) { p.rules = l.rules(v, path) }},
	})
}

func (l *loader) rules(n *yaml.Node, path string) []*rule {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.fail(n, path, "want a list of rules, got %s", describe(n))
		return nil
	}
	var out []*rule
	names := map[string]int{}
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		r := l.rule(item, ip, i)
		if r == nil {
			continue
		}
		if r.name != "" {
			if j, dup := names[r.name]; dup {
				l.fail(item, ip+".name", "rule name %q is already used by rules[%d]; names must be unique", r.name, j)
			} else {
				names[r.name] = i
			}
		}
		for _, earlier := range out {
			if shadows(earlier, r) {
				l.fail(item, ip+".match", "rule %q is never used: rules[%d] (%q) comes first and matches every requester this rule matches",
					r.name, earlier.index, earlier.name)
				break
			}
		}
		out = append(out, r)
	}
	return out
}

// shadows reports whether a, tried before b, takes every requester b would
// match. It recognises the plain cases (the same patterns, or "*"), which
// is where a misordered file usually goes wrong.
func shadows(a, b *rule) bool {
	if a.source == nil || b.source == nil {
		return false
	}
	covers := func(x, y *pattern) bool {
		switch {
		case x == nil:
			return true // a matches any chat user, present or not
		case y == nil:
			return false // a needs a chat user; b also takes requests without one
		default:
			return x.raw == "*" || x.raw == y.raw
		}
	}
	// Without a caller a rule takes only the event bus's requests, and with
	// one only the webhook's: the two never cover each other.
	callers := (a.caller == nil) == (b.caller == nil) && (a.caller == nil || covers(a.caller, b.caller))
	return (a.source.raw == "*" || a.source.raw == b.source.raw) && callers && covers(a.chatUser, b.chatUser) &&
		covers(a.key, b.key) && covers(a.bus, b.bus) && covers(a.route, b.route) && covers(a.account, b.account)
}

func (l *loader) rule(n *yaml.Node, path string, index int) *rule {
	r := &rule{index: index}
	var autoPayNode, maxSslNode, requiredNode, addNode, actionsNode, deleteOwnNode *yaml.Node
	ok := l.mapping(n, path, []field{
		{key: "name", required: true, set: func(v *yaml.Node, p string) {
			if s, ok := l.str(v, p); ok {
				switch {
				case len(s) > maxRuleNameLength:
					l.fail(v, p, "a rule name is at most %d characters long", maxRuleNameLength)
				case !ruleNameFormat.MatchString(s):
					l.fail(v, p, "rule name %q: use letters, digits, '_', '-' and '.', starting with a letter or digit", s)
				default:
					r.name = s
				}
			}
		}},
		{key: "match", required: true, set: func(v *yaml.Node, p string) { l.match(v, p, r) }},
		{key: "dryRun", set: func(v *yaml.Node, p string) { r.dryRun, _ = l.boolean(v, p) }},
		{key: "regions", required: true, set: func(v *yaml.Node, p string) {
			r.regions = l.patternList(v, p, func(s string) string {
				if !regionIDFormat.MatchString(s) {
					return fmt.Sprintf("%q is not a region ID (such as cn-hangzhou); write a pattern with '*' to match several", s)
				}
				return ""
			})
		}},
		{key: "vpcs", required: true, set: func(v *yaml.Node, p string) {
			r.vpcs = l.patternList(v, p, func(s string) string {
				if !vpcIDFormat.MatchString(s) {
					return fmt.Sprintf("%q is not a VPC ID (vpc- and then lower-case letters and digits); write a pattern with '*' to match several", s)
				}
				return ""
			})
		}},
		{key: "maxBandwidth", required: true, set: func(v *yaml.Node, p string) {
			if x, ok := l.integer(v, p); ok {
				if !slices.Contains(request.PublicBandwidths, x) {
					l.fail(v, p, "%d is not a gateway bandwidth; choose one of %s (Mbit/s)", x, joinInts(request.PublicBandwidths))
				} else {
					r.maxBandwidth = x
				}
			}
		}},
		{key: "chargeTypes", required: true, set: func(v *yaml.Node, p string) { r.chargeTypes = l.chargeTypes(v, p) }},
		{key: "allowAutoPay", set: func(v *yaml.Node, p string) { autoPayNode = v; r.allowAutoPay, _ = l.boolean(v, p) }},
		{key: "allowSsl", set: func(v *yaml.Node, p string) { r.allowSsl, _ = l.boolean(v, p) }},
		{key: "maxSslConnections", set: func(v *yaml.Node, p string) {
			maxSslNode = v
			if x, ok := l.integer(v, p); ok {
				if !slices.Contains(request.SslConnectionCounts, x) {
					l.fail(v, p, "%d is not an SSL-VPN client limit; choose one of %s", x, joinInts(request.SslConnectionCounts))
				} else {
					r.maxSslConnections = x
				}
			}
		}},
		{key: "namePattern", set: func(v *yaml.Node, p string) {
			if pt, _, ok := l.pattern(v, p); ok {
				r.namePattern = &pt
			}
		}},
		{key: "requiredTags", set: func(v *yaml.Node, p string) { requiredNode = v; r.requiredTags = l.requiredTags(v, p) }},
		{key: "addTags", set: func(v *yaml.Node, p string) { addNode = v; r.addTags = l.addTags(v, p) }},
		{key: "quota", set: func(v *yaml.Node, p string) { l.quota(v, p, r) }},
		{key: "sinks", set: func(v *yaml.Node, p string) { r.sinks = l.sinkList(v, p) }},
		{key: "actions", set: func(v *yaml.Node, p string) { actionsNode = v; r.actions = l.actions(v, p) }},
		{key: "requireExpiry", set: func(v *yaml.Node, p string) { r.requireExpiry, _ = l.boolean(v, p) }},
		{key: "maxLifetime", set: func(v *yaml.Node, p string) { r.maxLifetime = l.lifetime(v, p) }},
		{key: "deleteOwnOnly", set: func(v *yaml.Node, p string) {
			deleteOwnNode = v
			if b, ok := l.boolean(v, p); ok {
				r.deleteAny = !b
			}
		}},
	})
	if !ok {
		return nil
	}
	if actionsNode == nil {
		r.actions = []string{ActionCreate}
	}
	if deleteOwnNode != nil && !slices.Contains(r.actions, ActionDelete) {
		l.fail(deleteOwnNode, path+".deleteOwnOnly", "has no effect unless actions lists %s", ActionDelete)
	}

	// Settings that only make sense together.
	if autoPayNode != nil && r.allowAutoPay && r.chargeTypes != nil && !slices.Contains(r.chargeTypes, request.ChargeTypePrepay) {
		l.fail(autoPayNode, path+".allowAutoPay", "AutoPay applies only to subscriptions (PREPAY), which chargeTypes does not allow; remove allowAutoPay or add PREPAY")
	}
	if maxSslNode != nil && !r.allowSsl {
		l.fail(maxSslNode, path+".maxSslConnections", "has no effect without allowSsl: true")
	}
	for _, rt := range r.requiredTags {
		for _, at := range r.addTags {
			if rt.key == at.Key {
				l.fail(addNode, path+".addTags."+at.Key, "tag %s is both required from the request and added by the rule; a request that has it would be refused", at.Key)
			}
		}
	}
	if n := len(r.addTags) + identityTagCount; n > request.MaxTags {
		l.fail(addNode, path+".addTags", "%d tags plus vpngw's %d identity tags exceed the API's limit of %d tags on a gateway", len(r.addTags), identityTagCount, request.MaxTags)
	} else if n := len(r.requiredTags) + len(r.addTags) + identityTagCount; n > request.MaxTags {
		l.fail(requiredNode, path+".requiredTags", "%d required tags, %d added and vpngw's %d identity tags exceed the API's limit of %d tags on a gateway",
			len(r.requiredTags), len(r.addTags), identityTagCount, request.MaxTags)
	}
	return r
}

func (l *loader) match(n *yaml.Node, path string, r *rule) {
	one := func(dst **pattern) func(v *yaml.Node, p string) {
		return func(v *yaml.Node, p string) {
			if pt, _, ok := l.pattern(v, p); ok {
				*dst = &pt
			}
		}
	}
	var callerNode, chatUserNode, keyNode *yaml.Node
	var originNodes []*yaml.Node
	var originKeys []string
	keep := func(dst **yaml.Node, set func(v *yaml.Node, p string)) func(v *yaml.Node, p string) {
		return func(v *yaml.Node, p string) { *dst = v; set(v, p) }
	}
	origin := func(name string, dst **pattern) field {
		return field{key: name, set: func(v *yaml.Node, p string) {
			originNodes, originKeys = append(originNodes, v), append(originKeys, name)
			one(dst)(v, p)
		}}
	}
	l.mapping(n, path, []field{
		{key: "source", required: true, set: one(&r.source)},
		{key: "caller", set: keep(&callerNode, one(&r.caller))},
		{key: "key", set: keep(&keyNode, one(&r.key))},
		{key: "chatUser", set: keep(&chatUserNode, one(&r.chatUser))},
		origin("bus", &r.bus),
		origin("route", &r.route),
		origin("account", &r.account),
	})
	if r.caller != nil && !slices.ContainsFunc(Callers, r.caller.match) {
		hint := ""
		if near := request.Nearest(r.caller.raw, Callers); near != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", near)
		}
		l.fail(callerNode, path+".caller", "%q matches no caller%s; a caller is the webhook route a request came through: one of %s; leave caller out for requests the event bus delivers",
			r.caller.raw, hint, strings.Join(Callers, ", "))
	}
	if chatUserNode != nil && callerNode == nil {
		l.fail(chatUserNode, path+".chatUser", "a chat user comes only with a chat route: add caller (%s or %s) beside chatUser", CallerSlack, CallerDingTalk)
	}
	if keyNode != nil && (r.caller == nil || r.caller.raw != CallerWebhook) {
		l.fail(keyNode, path+".key", "a key names a key of %s, which only the %s route has: write caller: %s beside key",
			"VPNGW_WEBHOOK_KEYS", CallerWebhook, CallerWebhook)
	}
	if callerNode != nil {
		for i, v := range originNodes {
			l.fail(v, path+"."+originKeys[i], "%s is stamped by the platform on what the event bus delivers, and a request with a caller came through a webhook: remove caller to match the bus's requests, or %s to match the webhook's",
				originKeys[i], originKeys[i])
		}
	}
}

// items reads n as a list of one or more entries: anything else fails with
// "want <want>, got ...", and an empty list with empty.
func (l *loader) items(n *yaml.Node, path, want, empty string) []*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.fail(n, path, "want %s, got %s", want, describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		l.fail(n, path, "%s", empty)
		return nil
	}
	return n.Content
}

// patternList reads a non-empty list of patterns; literal entries are
// checked with shape.
func (l *loader) patternList(n *yaml.Node, path string, shape func(string) string) patterns {
	items := l.items(n, path, "a list (write [\"*\"] to allow any)", "an empty list allows nothing; remove the rule, or write [\"*\"] to allow any")
	var out patterns
	for i, item := range items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		pt, s, ok := l.pattern(item, ip)
		if !ok {
			continue
		}
		if pt.literal {
			if msg := shape(s); msg != "" {
				l.fail(item, ip, "%s", msg)
				continue
			}
		}
		out = append(out, pt)
	}
	return out
}

func (l *loader) chargeTypes(n *yaml.Node, path string) []string {
	return l.wordList(n, path, request.InstanceChargeTypes, "billing methods", "a billing method")
}

// wordList reads a non-empty list of words from allowed, each once; what
// names the list and one names one of its words, for messages.
func (l *loader) wordList(n *yaml.Node, path string, allowed []string, what, one string) []string {
	n = deref(n)
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		l.fail(n, path, "want a non-empty list of %s (%s), got %s", what, strings.Join(allowed, ", "), describe(n))
		return nil
	}
	var out []string
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		s, ok := l.str(item, ip)
		if !ok {
			continue
		}
		switch {
		case !slices.Contains(allowed, s):
			l.fail(item, ip, "%q is not %s; use %s%s", s, one, strings.Join(allowed, " or "), suggest(s, allowed))
		case slices.Contains(out, s):
			l.fail(item, ip, "%s is listed twice", s)
		default:
			out = append(out, s)
		}
	}
	return out
}

// actions reads a rule's actions: a non-empty list of Actions, each once.
func (l *loader) actions(n *yaml.Node, path string) []string {
	return l.wordList(n, path, Actions, "actions", "an action")
}

func (l *loader) requiredTags(n *yaml.Node, path string) []requiredTag {
	var out []requiredTag
	l.tagMap(n, path, func(k, v *yaml.Node, kp string) {
		if msg := checkTagText(k.Value, "key", request.MaxTagKeyLength); msg != "" {
			l.fail(k, kp, "%s", msg)
			return
		}
		pt, _, ok := l.pattern(v, kp)
		if !ok {
			return
		}
		out = append(out, requiredTag{key: k.Value, value: pt})
	})
	return out
}

func (l *loader) addTags(n *yaml.Node, path string) []events.Tag {
	var out []events.Tag
	l.tagMap(n, path, func(k, v *yaml.Node, kp string) {
		if msg := checkTagText(k.Value, "key", request.MaxTagKeyLength); msg != "" {
			l.fail(k, kp, "%s", msg)
			return
		}
		s, ok := l.str(v, kp)
		if !ok {
			return
		}
		if msg := checkTagText(s, "value", request.MaxTagValueLength); msg != "" {
			l.fail(v, kp, "%s", msg)
			return
		}
		out = append(out, events.Tag{Key: k.Value, Value: s})
	})
	return out
}

// tagMap walks a mapping of tag keys, in file order.
func (l *loader) tagMap(n *yaml.Node, path string, each func(k, v *yaml.Node, kp string)) {
	l.pairs(n, path, tagWords, each)
}

func (l *loader) quota(n *yaml.Node, path string, r *rule) {
	positive := func(dst *int) func(v *yaml.Node, p string) {
		return func(v *yaml.Node, p string) {
			if x, ok := l.integer(v, p); ok {
				if x < 1 {
					l.fail(v, p, "%d: a quota is a positive number of gateways; to stop a requester, remove its rule", x)
				} else {
					*dst = x
				}
			}
		}
	}
	if l.mapping(n, path, []field{
		{key: "perDay", set: positive(&r.perDay)},
		{key: "pending", set: positive(&r.pending)},
	}) && len(deref(n).Content) == 0 {
		l.fail(n, path, "empty; give perDay, pending or both, or remove quota")
	}
}

// Scalars. A value of the wrong type is reported with what was found, so
// "maxBandwidth: 100M" says it got a string.

// pattern reads n as a string and compiles it; on failure it records why at
// path and reports false. The string is returned too, for checks on literals.
func (l *loader) pattern(n *yaml.Node, path string) (pattern, string, bool) {
	s, ok := l.str(n, path)
	if !ok {
		return pattern{}, "", false
	}
	pt, err := compilePattern(s)
	if err != nil {
		l.fail(n, path, "%v", err)
		return pattern{}, "", false
	}
	return pt, s, true
}

func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		l.fail(n, path, "want a string, got %s%s", describe(n), quoteHint(n))
		return "", false
	}
	return n.Value, true
}

func (l *loader) integer(n *yaml.Node, path string) (int, bool) {
	n = deref(n)
	var x int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil {
		l.fail(n, path, "want a whole number, got %s", describe(n))
		return 0, false
	}
	return x, true
}

// lifetime reads maxLifetime: a positive Go duration such as 168h.
func (l *loader) lifetime(n *yaml.Node, path string) time.Duration {
	s, ok := l.str(n, path)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		l.fail(n, path, "%q is not a positive Go duration; write one such as 168h (a week) or 24h", s)
		return 0
	}
	return d
}

func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	n = deref(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		l.fail(n, path, "want true or false, got %s", describe(n))
		return false, false
	}
	return b, true
}

// deref follows YAML aliases (*anchor) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for "want X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "no value"
		case "!!int":
			return "the number " + n.Value
		case "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!str":
			return "the string " + strconv.Quote(n.Value)
		default:
			return n.ShortTag() + " " + strconv.Quote(n.Value)
		}
	}
	return "nothing"
}

// quoteHint suggests quotes when a scalar was read as another type but
// was probably meant as text (a chat user ID of digits, "yes").
func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return fmt.Sprintf(` (write "%s" in quotes if it is text)`, n.Value)
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// suggest returns " (did you mean X?)" when s is a near miss of one of
// options (different case, or at most two edits).
func suggest(s string, options []string) string {
	if best := request.Nearest(s, options); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}
