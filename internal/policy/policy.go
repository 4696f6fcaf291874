package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
)

// QuotaWindow is the period the per-day quota counts over: a rolling 24
// hours ending now, not the calendar day. A calendar day would let a
// requester create a day's quota just before midnight and another just
// after; a rolling window never allows more than the quota in any 24 hours.
const QuotaWindow = 24 * time.Hour

// Callers a request may come through, as Requester.Caller names them: the
// webhook route (and so the secret) that authenticated it. A request the
// platform delivered itself (Function Compute or EventBridge, Lambda, the
// local HTTP intake) has no caller.
const (
	CallerWebhook  = "webhook"  // signed CloudEvents on the webhook's POST /
	CallerSlack    = "slack"    // Slack slash commands, POST /slack
	CallerDingTalk = "dingtalk" // DingTalk robot messages, POST /dingtalk
)

// Callers lists every caller, for the loader's checks and messages.
var Callers = []string{CallerWebhook, CallerSlack, CallerDingTalk}

// Requester is who sent a request. Source is the request event's
// CloudEvents source and is always set. Caller (the webhook route that
// authenticated the request, one of Callers), Key (the name of the webhook
// key that signed it) and ChatUser (the chat user a bot acts for) are set
// only for requests that came in through a webhook. Origin holds what the
// platform that delivered an event stamped on it, set only for what the
// event bus delivered.
type Requester struct {
	Source   string
	Caller   string
	Key      string
	ChatUser string
	Origin   Origin
}

// Origin is what the platform stamps on an event it delivers, which the
// producer cannot choose (unlike the source): the Alibaba Cloud EventBridge
// bus the event was put on (its aliyuneventbusname attribute), the constant
// the EventBridge rule's target adds (the vpngwroute attribute of its
// template), and the AWS account that put an Amazon EventBridge event (its
// account). Intake fills it only from an event-bus delivery, never from a
// webhook request, so a webhook sender cannot claim a bus.
type Origin struct {
	Bus     string `json:"bus,omitempty"`
	Route   string `json:"route,omitempty"`
	Account string `json:"account,omitempty"`
}

// Zero reports whether o holds nothing.
func (o Origin) Zero() bool { return o == Origin{} }

// String names the requester in messages: its source, and its caller and
// chat user when it has them.
func (r Requester) String() string {
	s := "source " + strconv.Quote(r.Source)
	if r.Caller != "" {
		s += ", caller " + strconv.Quote(r.Caller)
	}
	if r.Key != "" {
		s += ", key " + strconv.Quote(r.Key)
	}
	if r.ChatUser != "" {
		s += ", chat user " + strconv.Quote(r.ChatUser)
	}
	if r.Origin.Bus != "" {
		s += ", bus " + strconv.Quote(r.Origin.Bus)
	}
	if r.Origin.Route != "" {
		s += ", route " + strconv.Quote(r.Origin.Route)
	}
	if r.Origin.Account != "" {
		s += ", account " + strconv.Quote(r.Origin.Account)
	}
	return s
}

// Principal is the requester as the vpngw:requester tag records it: the
// webhook caller (with its key's name, "webhook:ci") and chat user joined
// by "/" ("chatops-bot/U024BE7LH"), or
// the source when the request did not come through a webhook.
func (r Requester) Principal() string {
	var parts []string
	switch {
	case r.Caller != "" && r.Key != "":
		parts = append(parts, r.Caller+":"+r.Key)
	case r.Caller != "":
		parts = append(parts, r.Caller)
	}
	if r.ChatUser != "" {
		parts = append(parts, r.ChatUser)
	}
	if len(parts) == 0 {
		return r.Source
	}
	return strings.Join(parts, "/")
}

// Quota is a rule's bounds on a requester's gateways, per request event
// source. Zero fields are no bound. Decide only hands them on: counting and
// recording must be one atomic step, which only the store can take (see
// store.Quota for what each bound counts).
type Quota struct {
	// PerDay bounds the gateways created, or still to be created, in any
	// QuotaWindow.
	PerDay int
	// Pending bounds the requests received or pending at once.
	Pending int
}

// Zero reports whether q bounds nothing.
func (q Quota) Zero() bool { return q.PerDay <= 0 && q.Pending <= 0 }

// Usage is what a requester had against its rule's quota when the quota
// was applied, without the request being decided.
type Usage struct {
	// PerDay counts the requester's requests that CreateVpnGateway accepted
	// in the last QuotaWindow, and those received and not yet settled.
	PerDay int
	// Pending counts the requester's requests received or pending.
	Pending int
}

// Decision is the policy's answer to one request.
type Decision struct {
	// Allowed is true when the matched rule allows the request.
	Allowed bool
	// Rule is the name of the matched rule; "" when no rule matched.
	Rule string
	// DryRun is true when the rule or the whole policy says dry-run:
	// nothing may be created, whatever Allowed says.
	DryRun bool
	// Violations lists every rule the request broke. Each names the rule
	// and the rule key in its Message; Field is the API parameter at fault
	// (Tags[i].Key for a tag; "source" for the requester itself), Value what
	// the request gave, Allowed what the rule allows.
	Violations []events.FieldError
	// AddTags are the rule's tags to add to the gateway, in the file's
	// order. They do not include the identity tags (IdentityTags).
	AddTags []events.Tag
	// Message is one sentence naming the rule and the requester, and, for
	// a denial, every violation.
	Message string
	// Quota is the matched rule's quota. Decide does not count: the caller
	// applies it when it records the request, in one atomic step, and turns
	// a refusal into a denial with OverQuota.
	Quota Quota
	// Sinks are the matched rule's sinks: the named sinks of
	// VPNGW_QUEUE_URL that the request's outcomes go to, allowed or denied.
	// None (and no rule matched) sends them to every unnamed sink. Only the
	// operator's policy sets them; nothing in a request does.
	Sinks []string
	// Lifetime is the matched rule's expiry settings. Decide does not
	// apply them (the request's expiry is not in its data): the caller
	// does, with CheckLifetime.
	Lifetime Lifetime
}

// Lifetime is what a rule says of a gateway's expiry.
type Lifetime struct {
	// Require: a create request must carry vpngwexpires.
	Require bool
	// Max caps the gateway's life, from the request's receipt to its
	// expiry; zero is no cap.
	Max time.Duration
}

// Policy is a validated operator policy. Build it with Load, Parse or
// FromEnv; it is immutable afterwards and safe for concurrent use.
type Policy struct {
	// DryRun makes every decision a dry run (the file's top-level dryRun):
	// requests are validated and decided, and nothing is created.
	DryRun bool

	name  string
	rules []*rule
	// orphans is the top-level orphans key (see Orphans).
	orphans string
}

// rule is one entry of the file's rules list. Absent optional settings are
// zero: no quota, no required or added tags, any name.
type rule struct {
	name string
	// index is the rule's position in the file, for messages.
	index int

	source, caller, key, chatUser *pattern
	// bus, route and account match the requester's Origin; a rule with
	// one of them takes only events the platform stamped with a match.
	bus, route, account *pattern

	dryRun            bool
	regions           patterns
	vpcs              patterns
	maxBandwidth      int
	chargeTypes       []string
	allowAutoPay      bool
	allowSsl          bool
	maxSslConnections int // 0: any
	namePattern       *pattern
	requiredTags      []requiredTag
	addTags           []events.Tag
	perDay, pending   int // 0: no quota
	// sinks routes the rule's outcomes to these named sinks alone; none
	// sends them to every unnamed sink.
	sinks []string
	// actions are what the rule allows (ActionCreate when the file
	// names none); deleteAny lets it delete any gateway vpngw created,
	// not only those its requester's own source asked for.
	actions   []string
	deleteAny bool
	// requireExpiry denies a create request without vpngwexpires, and
	// maxLifetime (0: any) one whose gateway would live longer.
	requireExpiry bool
	maxLifetime   time.Duration
}

type requiredTag struct {
	key   string
	value pattern
}

// Name is where the policy came from: the file path or the environment
// variable.
func (p *Policy) Name() string { return p.name }

// Rules lists the rule names in the order they are tried.
func (p *Policy) Rules() []string {
	names := make([]string, len(p.rules))
	for i, r := range p.rules {
		names[i] = r.name
	}
	return names
}

// ErrNilPolicy is returned by Decide on a nil *Policy. FromEnv returns a nil
// policy when none is configured; what that means is the caller's choice,
// and Decide will not make it silently.
var ErrNilPolicy = errors.New("policy: Decide called on a nil policy (none configured)")

// Decide applies the policy to request r from who. The first rule whose
// match fits who decides; when none fits the request is denied. The rule's
// quota is not counted here but handed back in Decision.Quota, to be applied
// where the request is recorded: a count taken apart from the record lets
// concurrent requests all see room. So a request already recorded (a
// re-drive) can be decided again without counting itself.
//
// r should already have passed request.Validate: Decide judges what the
// request asks for, not whether the API would take it.
func (p *Policy) Decide(who Requester, r events.GatewayRequest) (Decision, error) {
	if p == nil {
		return Decision{}, ErrNilPolicy
	}
	ru := p.match(who)
	if ru == nil {
		msg := fmt.Sprintf("no rule of the policy matches requester %s, so the request is denied (only what a rule allows is created)", who)
		return Decision{DryRun: p.DryRun, Violations: deniedBySource(who, msg), Message: msg}, nil
	}

	c := checker{rule: ru.name}
	if !slices.Contains(ru.actions, ActionCreate) {
		c.add("actions", "type", "create", "a rule whose actions list create",
			"creating is not among the actions the rule allows (%s)", strings.Join(ru.actions, ", "))
	}
	ru.check(&c, r)
	d := Decision{
		Allowed:    len(c.violations) == 0,
		Rule:       ru.name,
		DryRun:     p.DryRun || ru.dryRun,
		Violations: c.violations,
		AddTags:    slices.Clone(ru.addTags),
		Quota:      Quota{PerDay: ru.perDay, Pending: ru.pending},
		Sinks:      slices.Clone(ru.sinks),
		Lifetime:   Lifetime{Require: ru.requireExpiry, Max: ru.maxLifetime},
	}
	if d.Allowed {
		d.Message = fmt.Sprintf("rule %q allows requester %s", ru.name, who)
	} else {
		d.Message = fmt.Sprintf("rule %q denies requester %s: %s", ru.name, who, strings.Join(c.short, "; "))
	}
	return d, nil
}

// deniedBySource is the violation of a requester no rule matches.
func deniedBySource(who Requester, msg string) []events.FieldError {
	return []events.FieldError{{
		Field:   "source",
		Value:   clip(who.Source),
		Allowed: "a requester that a rule of the policy matches",
		Message: msg,
	}}
}

// OverQuota returns d with the violations of the quotas that u leaves no
// room under: one more request of who would break them. A denial names
// quota.perDay or quota.pending, what the requester has and what the rule
// allows. d comes back unchanged when u leaves room under every bound.
func (d Decision) OverQuota(who Requester, u Usage) Decision {
	c := checker{rule: d.Rule}
	if q := d.Quota.PerDay; q > 0 && u.PerDay >= q {
		c.add("quota.perDay", "source", who.Source, fmt.Sprintf("at most %d gateways in 24 hours", q),
			"the requester has %d gateways created or being created in the last 24 hours, and the rule allows %d", u.PerDay, q)
	}
	if q := d.Quota.Pending; q > 0 && u.Pending >= q {
		c.add("quota.pending", "source", who.Source, fmt.Sprintf("at most %d gateways pending at once", q),
			"the requester has %d gateways received or pending, and the rule allows %d at once", u.Pending, q)
	}
	return d.deny(who, c)
}

// CheckLifetime applies the rule's expiry settings to a request whose
// gateway would live lifetime (zero: the request asks for no expiry), as
// OverQuota applies its quota: d when they hold, otherwise d denied, with a
// violation naming requireExpiry or maxLifetime.
func (d Decision) CheckLifetime(who Requester, lifetime time.Duration) Decision {
	c := checker{rule: d.Rule}
	const field = "vpngwexpires"
	switch {
	case lifetime == 0 && d.Lifetime.Require:
		allowed := "an expiry (vpngwexpires)"
		if d.Lifetime.Max > 0 {
			allowed = "an expiry (vpngwexpires) at most " + d.Lifetime.Max.String() + " away"
		}
		c.add("requireExpiry", field, "", allowed,
			"the rule requires an expiry: send the request with the CloudEvents extension attribute vpngwexpires (a time, or a duration such as 168h)")
	case lifetime > 0 && d.Lifetime.Max > 0 && lifetime > d.Lifetime.Max:
		c.add("maxLifetime", field, lifetime.Round(time.Second).String(), "at most "+d.Lifetime.Max.String(),
			"the gateway would live %s, and the rule allows at most %s", lifetime.Round(time.Second), d.Lifetime.Max)
	}
	return d.deny(who, c)
}

// deny adds c's violations, if any, to d: d is then denied, its message
// naming them.
func (d Decision) deny(who Requester, c checker) Decision {
	if len(c.violations) == 0 {
		return d
	}
	if d.Allowed {
		d.Message = fmt.Sprintf("rule %q denies requester %s: %s", d.Rule, who, strings.Join(c.short, "; "))
	} else {
		d.Message += "; " + strings.Join(c.short, "; ")
	}
	d.Allowed = false
	d.Violations = append(slices.Clone(d.Violations), c.violations...)
	return d
}

// match returns the first rule that fits who, or nil.
func (p *Policy) match(who Requester) *rule {
	for _, r := range p.rules {
		if r.fits(who) {
			return r
		}
	}
	return nil
}

// fits reports whether the rule's match applies to who. A rule binds its
// callers: one without a caller pattern takes only what the event bus
// delivered (no caller), and one with a caller pattern only the webhook
// routes it names. Whoever holds a webhook secret chooses the source it
// claims, so a rule written for a bus source never matches a webhook's
// request; and a chat user pattern requires a chat user.
func (r *rule) fits(who Requester) bool {
	if !r.source.match(who.Source) {
		return false
	}
	if r.caller == nil {
		if who.Caller != "" {
			return false
		}
	} else if who.Caller == "" || !r.caller.match(who.Caller) {
		return false
	}
	if !present(r.key, who.Key) || !present(r.chatUser, who.ChatUser) {
		return false
	}
	return present(r.bus, who.Origin.Bus) && present(r.route, who.Origin.Route) && present(r.account, who.Origin.Account)
}

// present reports whether v fits the pattern p: any v when p is nil, and
// otherwise a v that is set and matches (a pattern of "*" does not match an
// attribute the platform did not stamp).
func present(p *pattern, v string) bool {
	return p == nil || (v != "" && p.match(v))
}

// checker collects the violations of one decision.
type checker struct {
	rule       string
	violations []events.FieldError
	// short are the violations as clauses of the decision's message.
	short []string
}

// add records a violation of rule key: the clause says what is wrong, in
// terms of the request ("Bandwidth 200 Mbit/s is above 100").
func (c *checker) add(key, field, value, allowed, format string, args ...any) {
	clause := key + ": " + fmt.Sprintf(format, args...)
	c.short = append(c.short, clause)
	c.violations = append(c.violations, events.FieldError{
		Field:   field,
		Value:   clip(value),
		Allowed: allowed,
		Message: fmt.Sprintf("rule %q %s", c.rule, clause),
	})
}

// check applies every rule setting except the quotas.
func (r *rule) check(c *checker, req events.GatewayRequest) {
	if !r.regions.match(req.RegionId) {
		c.add("regions", "RegionId", req.RegionId, "one of "+r.regions.String(),
			"RegionId %q is not a region the rule allows (%s)", req.RegionId, r.regions)
	}
	if !r.vpcs.match(req.VpcId) {
		c.add("vpcs", "VpcId", req.VpcId, "one of "+r.vpcs.String(),
			"VpcId %q is not a VPC the rule allows (%s)", req.VpcId, r.vpcs)
	}

	maxBW := fmt.Sprintf("at most %d Mbit/s", r.maxBandwidth)
	switch {
	case req.Bandwidth == nil:
		c.add("maxBandwidth", "Bandwidth", "", maxBW, "Bandwidth is missing; the rule allows at most %d Mbit/s", r.maxBandwidth)
	case *req.Bandwidth > r.maxBandwidth:
		c.add("maxBandwidth", "Bandwidth", strconv.Itoa(*req.Bandwidth), maxBW,
			"Bandwidth %d Mbit/s is above the %d Mbit/s the rule allows", *req.Bandwidth, r.maxBandwidth)
	}

	allTypes := len(r.chargeTypes) == len(request.InstanceChargeTypes)
	types := strings.Join(r.chargeTypes, ", ")
	switch {
	case req.InstanceChargeType == "" && !allTypes:
		// The API's default billing method depends on the account's site,
		// so an absent value could turn out to be one the rule forbids.
		c.add("chargeTypes", "InstanceChargeType", "", "one of "+types+", given explicitly",
			"InstanceChargeType must be given, because the rule allows only %s and the API's default depends on the account's site", types)
	case req.InstanceChargeType != "" && !slices.Contains(r.chargeTypes, req.InstanceChargeType):
		c.add("chargeTypes", "InstanceChargeType", req.InstanceChargeType, "one of "+types,
			"InstanceChargeType %s is not a billing method the rule allows (%s)", req.InstanceChargeType, types)
	}

	// AutoPay settles a subscription's bill without a person; with
	// pay-as-you-go the API ignores it, so only a subscription (or a
	// billing method left to the API's default) is refused here.
	if !r.allowAutoPay && req.AutoPay != nil && *req.AutoPay && req.InstanceChargeType != request.ChargeTypePostpay {
		c.add("allowAutoPay", "AutoPay", "true", "false (or InstanceChargeType POSTPAY)",
			"AutoPay true for a subscription is not allowed by the rule (a person must pay the bill)")
	}

	ssl := req.EnableSsl != nil && *req.EnableSsl
	switch {
	case ssl && !r.allowSsl:
		c.add("allowSsl", "EnableSsl", "true", "false",
			"EnableSsl true is not allowed by the rule (SSL-VPN opens the network to individual clients)")
	case ssl && r.maxSslConnections > 0:
		// The API's default is 5 clients [SDK], as request.Normalize says.
		n := 5
		if req.SslConnections != nil {
			n = *req.SslConnections
		}
		if n > r.maxSslConnections {
			c.add("maxSslConnections", "SslConnections", strconv.Itoa(n), fmt.Sprintf("at most %d", r.maxSslConnections),
				"SslConnections %d is above the %d SSL-VPN clients the rule allows", n, r.maxSslConnections)
		}
	}

	if r.namePattern != nil {
		switch {
		case req.Name == "":
			c.add("namePattern", "Name", "", "a name matching "+r.namePattern.raw,
				"Name is required by the rule and must match %s", r.namePattern.raw)
		case !r.namePattern.match(req.Name):
			c.add("namePattern", "Name", req.Name, "a name matching "+r.namePattern.raw,
				"Name %q does not match %s", req.Name, r.namePattern.raw)
		}
	}

	r.checkTags(c, req.Tags)
}

// checkTags applies requiredTags and addTags, and keeps the identity tags'
// keys and room free.
func (r *rule) checkTags(c *checker, tags []events.Tag) {
	index := make(map[string]int, len(tags))
	for i, t := range tags {
		if _, dup := index[t.Key]; !dup {
			index[t.Key] = i
		}
		if IsReservedTagKey(t.Key) {
			c.add("tags", fmt.Sprintf("Tags[%d].Key", i), t.Key, "a key that does not start with "+IdentityTagPrefix+" or a look-alike of it",
				"tag key %q is refused: %s", t.Key, reservedKeyMessage(t.Key))
		}
	}
	for _, rt := range r.requiredTags {
		i, ok := index[rt.key]
		switch {
		case !ok:
			c.add("requiredTags", "Tags", "", fmt.Sprintf("a tag %s with a value matching %s", rt.key, rt.value.raw),
				"tag %s is required by the rule and missing", rt.key)
		case !rt.value.match(tags[i].Value):
			c.add("requiredTags", fmt.Sprintf("Tags[%d].Value", i), tags[i].Value, "a value matching "+rt.value.raw,
				"tag %s has value %q, which does not match %s", rt.key, tags[i].Value, rt.value.raw)
		}
	}
	for _, at := range r.addTags {
		if i, ok := index[at.Key]; ok {
			c.add("addTags", fmt.Sprintf("Tags[%d].Key", i), at.Key, "a key the rule does not add itself",
				"tag %s is added by the rule (value %q); the request may not set it too", at.Key, at.Value)
		}
	}
	if total := len(tags) + len(r.addTags) + identityTagCount; total > request.MaxTags {
		room := request.MaxTags - len(r.addTags) - identityTagCount
		c.add("addTags", "Tags", strconv.Itoa(len(tags)), fmt.Sprintf("at most %d tags", room),
			"the request has %d tags, and with the rule's %d and vpngw's %d identity tags the gateway would carry %d, above the API's limit of %d; send at most %d",
			len(tags), len(r.addTags), identityTagCount, total, request.MaxTags, room)
	}
}

// maxValueRunes bounds FieldError.Value, as request does for its own.
const maxValueRunes = 200

func clip(s string) string {
	r := []rune(s)
	if len(r) <= maxValueRunes {
		return s
	}
	return string(r[:maxValueRunes]) + "…"
}
