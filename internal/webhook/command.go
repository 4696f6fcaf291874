package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
)

// Bounds on one chat command, so that a pasted novel costs nothing.
const (
	maxCommandBytes = 4000 // Slack's own limit on a slash command's text
	maxTokens       = 64
)

// HelpText documents the chat command grammar; the bot answers `help` with
// it. docs/CHATOPS.md quotes it (deploy/readme_test.go checks the copy).
const HelpText = `vpngw creates Alibaba Cloud VPN gateways.

  create region=<RegionId> vpc=<VpcId> bandwidth=<Mbit/s> [key=value]...
  check  <the same keys>   decide and validate only: nothing is created
  status [<request id>|<gateway id>]   your last 10 requests here, or one
  delete <gateway id> [region=<RegionId>]   delete a gateway vpngw created
  help

Required: region, vpc, bandwidth.
Optional:
  name=<Name>                        vswitch=<VSwitchId>
  dr-vswitch=<VSwitchId>             network=public|private
  ssl=<clients>|on|off               ipsec=on|off
  charge=POSTPAY|PREPAY              period=<months> (with PREPAY)
  autopay=on|off                     vpn-type=Normal|NationalStandard
  resource-group=<ResourceGroupId>   tag.<key>=<value> (repeatable)
The API's own parameter names work too (RegionId=cn-hangzhou, Bandwidth=10).
Quote a value with spaces: tag.owner="Net Ops".

Example:
  create region=cn-hangzhou vpc=vpc-bp1ub1yt9cvakoelj bandwidth=10 vswitch=vsw-bp1j5miw2bae9s2vt dr-vswitch=vsw-bp1k6miw2bae9s2vu name=dev-gw tag.CostCenter=CC-42`

// valueKind is how a key's value is read.
type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindBool
	kindSSL // ssl=<clients>|on|off: EnableSsl, and SslConnections with a count
)

// param is one key of the grammar.
type param struct {
	alias string // the short key; "" when only the API name is accepted
	api   string // the CreateVpnGateway parameter
	kind  valueKind
	// canon maps a value to the API's spelling (case), when there is one.
	canon func(string) string
}

func upper(s string) string { return strings.ToUpper(s) }
func lower(s string) string { return strings.ToLower(s) }

func canonVpnType(s string) string {
	for _, v := range []string{"Normal", "NationalStandard"} {
		if strings.EqualFold(s, v) {
			return v
		}
	}
	return s
}

// params is the grammar, in the order the error message lists the keys.
var params = []param{
	{alias: "region", api: "RegionId"},
	{alias: "vpc", api: "VpcId"},
	{alias: "bandwidth", api: "Bandwidth", kind: kindInt},
	{alias: "name", api: "Name"},
	{alias: "vswitch", api: "VSwitchId"},
	{alias: "dr-vswitch", api: "DisasterRecoveryVSwitchId"},
	{alias: "network", api: "NetworkType", canon: lower},
	{alias: "ssl", api: "EnableSsl", kind: kindSSL},
	{api: "SslConnections", kind: kindInt},
	{alias: "ipsec", api: "EnableIpsec", kind: kindBool},
	{alias: "charge", api: "InstanceChargeType", canon: upper},
	{alias: "period", api: "Period", kind: kindInt},
	{alias: "autopay", api: "AutoPay", kind: kindBool},
	{alias: "vpn-type", api: "VpnType", canon: canonVpnType},
	{alias: "resource-group", api: "ResourceGroupId"},
	{api: "ClientToken"},
}

// tagPrefix starts a tag key: tag.<key>=<value>.
const tagPrefix = "tag."

// Verbs of the grammar.
const (
	verbCreate = "create"
	verbCheck  = "check" // a dry run: validated and decided, nothing created
	verbHelp   = "help"
	verbStatus = "status" // the caller's recent requests, or one
	verbDelete = "delete" // a gateway vpngw created, to delete
)

// command is a parsed chat command.
type command struct {
	verb string
	// data is the request's JSON data, with the API's parameter names, for
	// verbCreate and verbCheck.
	data []byte
	// ref is the request id or gateway id of verbStatus; empty for the
	// caller's recent requests. For verbDelete it is the gateway id, and
	// region its region when the command gave one.
	ref, region string
}

// commandError lists every problem of a chat command.
type commandError struct{ problems []string }

func (e *commandError) Error() string { return strings.Join(e.problems, "; ") }

// parseCommand reads one chat command (see HelpText). Syntax and value types
// are checked here; whether the values are ones the API takes is left to the
// request validator, so that every rule lives in one place. Empty text is
// help.
func parseCommand(text string) (command, error) {
	if len(text) > maxCommandBytes {
		return command{}, &commandError{[]string{fmt.Sprintf("the command is %d bytes long; the limit is %d", len(text), maxCommandBytes)}}
	}
	if !utf8.ValidString(text) {
		return command{}, &commandError{[]string{"the command is not valid UTF-8 text"}}
	}
	tokens, err := tokenize(text)
	if err != nil {
		return command{}, &commandError{[]string{err.Error()}}
	}
	// A group chat may keep the bot's @mention in the text.
	for len(tokens) > 0 && strings.HasPrefix(tokens[0], "@") {
		tokens = tokens[1:]
	}
	if len(tokens) == 0 {
		return command{verb: verbHelp}, nil
	}
	if len(tokens) > maxTokens {
		return command{}, &commandError{[]string{fmt.Sprintf("the command has %d words; the limit is %d", len(tokens), maxTokens)}}
	}
	verb := strings.ToLower(tokens[0])
	switch verb {
	case verbHelp:
		return command{verb: verbHelp}, nil
	case verbStatus:
		if len(tokens) > 2 {
			return command{}, &commandError{[]string{"status takes at most one request id or gateway id"}}
		}
		c := command{verb: verbStatus}
		if len(tokens) == 2 {
			c.ref = tokens[1]
		}
		return c, nil
	case verbDelete:
		return parseDelete(tokens[1:])
	case verbCreate, verbCheck:
	default:
		msg := fmt.Sprintf("unknown command %q: start with create, check, status, delete or help", tokens[0])
		if strings.Contains(tokens[0], "=") {
			msg = "start the command with create (or send help)"
		}
		return command{}, &commandError{[]string{msg}}
	}

	data := map[string]any{}
	var (
		problems []string
		setBy    = map[string]string{} // API parameter -> the key that set it
		tags     []events.Tag
		tagSeen  = map[string]bool{}
	)
	set := func(key, api string, v any) {
		if prev, dup := setBy[api]; dup {
			if strings.EqualFold(prev, key) {
				problems = append(problems, fmt.Sprintf("%s is given twice", key))
			} else {
				problems = append(problems, fmt.Sprintf("%s and %s both set %s; give one", prev, key, api))
			}
			return
		}
		setBy[api] = key
		data[api] = v
	}
	for _, tok := range tokens[1:] {
		key, value, ok := strings.Cut(tok, "=")
		if !ok || key == "" {
			problems = append(problems, fmt.Sprintf("%q is not key=value", tok))
			continue
		}
		if len(key) > len(tagPrefix) && strings.EqualFold(key[:len(tagPrefix)], tagPrefix) {
			tk := key[len(tagPrefix):]
			if tagSeen[tk] {
				problems = append(problems, fmt.Sprintf("tag %s is given twice", tk))
				continue
			}
			tagSeen[tk] = true
			tags = append(tags, events.Tag{Key: tk, Value: value})
			continue
		}
		p, found := lookupParam(key)
		if !found {
			problems = append(problems, unknownKey(key))
			continue
		}
		if value == "" {
			problems = append(problems, fmt.Sprintf("%s has no value", key))
			continue
		}
		switch p.kind {
		case kindString:
			if p.canon != nil {
				value = p.canon(value)
			}
			set(key, p.api, value)
		case kindInt:
			n, err := strconv.Atoi(value)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s=%s: want a whole number", key, value))
				continue
			}
			set(key, p.api, n)
		case kindBool:
			b, ok := parseBool(value)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s=%s: want on or off", key, value))
				continue
			}
			set(key, p.api, b)
		case kindSSL:
			if b, ok := parseBool(value); ok {
				set(key, p.api, b)
				continue
			}
			n, err := strconv.Atoi(value)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s=%s: want the number of SSL-VPN clients, on or off", key, value))
				continue
			}
			set(key, p.api, true)
			set(key, "SslConnections", n)
		}
	}
	if len(tags) > 0 {
		data["Tags"] = tags
	}
	if problems != nil {
		return command{}, &commandError{problems}
	}
	b, err := json.Marshal(data)
	if err != nil {
		// Strings, ints, bools and tags always marshal.
		return command{}, &commandError{[]string{"could not encode the request: " + err.Error()}}
	}
	return command{verb: verb, data: b}, nil
}

// parseDelete reads the words after delete: a gateway id, and optionally
// region=<RegionId> (by default the region vpngw recorded creating it in).
func parseDelete(words []string) (command, error) {
	c := command{verb: verbDelete}
	var problems []string
	for _, w := range words {
		key, value, isKV := strings.Cut(w, "=")
		switch {
		case isKV && (strings.EqualFold(key, "region") || strings.EqualFold(key, "RegionId")) && value != "" && c.region == "":
			c.region = value
		case isKV:
			problems = append(problems, fmt.Sprintf("%q: delete takes a gateway id and, optionally, region=<RegionId> once", w))
		case c.ref != "":
			problems = append(problems, "delete takes one gateway id")
		default:
			c.ref = w
		}
	}
	if c.ref == "" && problems == nil {
		problems = append(problems, "delete needs the id of the gateway to delete: delete vpn-bp1q8bgx4xnkm2ogj")
	}
	if problems != nil {
		return command{}, &commandError{problems}
	}
	return c, nil
}

// lookupParam finds a key by its alias or API name, in any case.
func lookupParam(key string) (param, bool) {
	for _, p := range params {
		if (p.alias != "" && strings.EqualFold(key, p.alias)) || strings.EqualFold(key, p.api) {
			return p, true
		}
	}
	return param{}, false
}

// parseBool reads on/off and its usual spellings.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "true", "yes", "1":
		return true, true
	case "off", "false", "no", "0":
		return false, true
	}
	return false, false
}

// unknownKey says a key is not in the grammar, suggesting the nearest one.
func unknownKey(key string) string {
	var names []string
	for _, p := range params {
		if p.alias != "" {
			names = append(names, p.alias)
		}
		names = append(names, p.api)
	}
	// Suggest only what is within two edits, ignoring case; of equally near
	// names, the one spelt in the user's style (API name or short key).
	best, bestDist, bestExact := "", 3, 0
	if len(key) > 40 {
		names = nil // nothing is that long: spare the quadratic distance
	}
	for _, n := range names {
		d, exact := request.EditDistance(strings.ToLower(key), strings.ToLower(n)), request.EditDistance(key, n)
		if d < bestDist || (d == bestDist && exact < bestExact) {
			best, bestDist, bestExact = n, d, exact
		}
	}
	msg := fmt.Sprintf("unknown key %q", key)
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	}
	return msg + "; keys: " + strings.Join(aliases(), ", ") + ", tag.<key>, or the API's parameter names"
}

func aliases() []string {
	var out []string
	for _, p := range params {
		if p.alias != "" {
			out = append(out, p.alias)
		}
	}
	return out
}

// Quote pairs a value may be wrapped in: ASCII quotes, and the typographic
// ones chat clients substitute as the user types.
var quotePairs = map[rune][]rune{
	'"':      {'"'},
	'\'':     {'\''},
	'\u201c': {'\u201d', '\u201c'}, // “ ”
	'\u2018': {'\u2019', '\u2018'}, // ‘ ’
	'\u201d': {'\u201d'},
}

// tokenize splits text at white space, keeping quoted runs together with
// the quotes removed: tag.owner="Net Ops" is one token, tag.owner=Net Ops.
func tokenize(text string) ([]string, error) {
	var (
		out     []string
		cur     strings.Builder
		inTok   bool
		closers []rune // the quotes that end the current quoted run
	)
	for _, r := range text {
		switch {
		case closers != nil:
			if slices.Contains(closers, r) {
				closers = nil
				continue
			}
			cur.WriteRune(r)
		case quotePairs[r] != nil:
			closers = quotePairs[r]
			inTok = true
		case unicode.IsSpace(r):
			if inTok {
				out = append(out, cur.String())
				cur.Reset()
				inTok = false
			}
		default:
			cur.WriteRune(r)
			inTok = true
		}
		if len(out) > maxTokens {
			return out, nil // the caller reports the count
		}
	}
	if closers != nil {
		return nil, errors.New("a quote is not closed")
	}
	if inTok {
		out = append(out, cur.String())
	}
	return out, nil
}
