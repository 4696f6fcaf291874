package policy_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/request"
)

// samplePath is the sample policy shipped in deploy/: the table below runs
// against the very file operators copy.
var samplePath = filepath.Join("..", "..", "deploy", "policy.sample.yaml")

func loadSample(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load(samplePath)
	if err != nil {
		t.Fatalf("load sample policy: %v", err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// fakeUsage is what a requester has against its quotas, as the store
// counts it when it records a request.
type fakeUsage struct {
	created, pending int
}

// Requesters of the sample policy.
var (
	ticketing = policy.Requester{Source: "https://tickets.example.com/queue/network"}
	chatops   = policy.Requester{Source: "slack:T0001VPNGW", Caller: "slack", ChatUser: "U024BE7LH"}
	netops    = policy.Requester{Source: "dingtalk:cidNetops01==", Caller: "dingtalk"}
	finance   = policy.Requester{Source: "https://erp.example.com/procurement"}
	platform  = policy.Requester{Source: "https://ci.example.com/platform", Origin: policy.Origin{Bus: "vpngw-ci"}}
)

// Requests that the matching rule allows; cases change one thing.
func ticketingRequest() events.GatewayRequest {
	return events.GatewayRequest{
		RegionId: "cn-hangzhou", VpcId: "vpc-bp1tkt7q2m", Bandwidth: ptr(50),
		Name: "tkt-4711", InstanceChargeType: "POSTPAY",
		VSwitchId: "vsw-bp1aaaa", DisasterRecoveryVSwitchId: "vsw-bp1bbbb",
		Tags: []events.Tag{{Key: "CostCenter", Value: "CC-1234"}},
	}
}

func chatopsRequest() events.GatewayRequest {
	return events.GatewayRequest{
		RegionId: "cn-hangzhou", VpcId: "vpc-bp1dev01", Bandwidth: ptr(10), InstanceChargeType: "POSTPAY",
		VSwitchId: "vsw-bp1aaaa", DisasterRecoveryVSwitchId: "vsw-bp1bbbb",
		EnableSsl: ptr(true), SslConnections: ptr(50),
	}
}

func financeRequest() events.GatewayRequest {
	return events.GatewayRequest{
		RegionId: "cn-beijing", VpcId: "vpc-bp1fin01", Bandwidth: ptr(200),
		InstanceChargeType: "PREPAY", Period: ptr(12), AutoPay: ptr(true),
		VSwitchId: "vsw-2zeaaaa", DisasterRecoveryVSwitchId: "vsw-2zebbbb",
		Tags: []events.Tag{{Key: "CostCenter", Value: "CC-9000"}, {Key: "PurchaseOrder", Value: "PO-123456"}},
	}
}

func with(r events.GatewayRequest, change func(*events.GatewayRequest)) events.GatewayRequest {
	change(&r)
	return r
}

func manyTags(n int) []events.Tag {
	tags := []events.Tag{{Key: "CostCenter", Value: "CC-1234"}}
	for i := 1; i < n; i++ {
		tags = append(tags, events.Tag{Key: fmt.Sprintf("k%02d", i), Value: "v"})
	}
	return tags
}

// TestDecideSample is the table of requests against the sample policy: for
// every rule setting at least one request it allows and one it denies.
// want lists the violations as "ruleKey/Field".
func TestDecideSample(t *testing.T) {
	p := loadSample(t)
	cases := []struct {
		name    string
		who     policy.Requester
		req     events.GatewayRequest
		usage   fakeUsage
		allowed bool
		rule    string
		dryRun  bool
		want    []string
		// wantCalls is how many quota bounds the matched rule hands on for
		// the store to count.
		wantCalls int
	}{
		{name: "match source glob: ticketing request allowed", who: ticketing, req: ticketingRequest(),
			allowed: true, rule: "ticketing", wantCalls: 2},
		{name: "match: unknown source denied by default", who: policy.Requester{Source: "https://tickets.example.org/queue"}, req: ticketingRequest(),
			want: []string{"/source"}},

		{name: "regions: cn-shanghai allowed", who: ticketing, allowed: true, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) {
				r.RegionId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "cn-shanghai", "vsw-uf6aaaa", "vsw-uf6bbbb"
			})},
		{name: "regions: ap-southeast-1 denied", who: ticketing, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) {
				r.RegionId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "ap-southeast-1", "vsw-t4naaaa", "vsw-t4nbbbb"
			}),
			want: []string{"regions/RegionId"}},
		{name: "regions: glob cn-* allows cn-qingdao", who: netops, allowed: true, rule: "netops-trial", dryRun: true, wantCalls: 1,
			req: events.GatewayRequest{RegionId: "cn-qingdao", VpcId: "vpc-bp1net01", Bandwidth: ptr(50), InstanceChargeType: "POSTPAY",
				VSwitchId: "vsw-m5eaaaa", DisasterRecoveryVSwitchId: "vsw-m5ebbbb"}},

		{name: "vpcs: regex entry allows vpc-uf6tkt...", who: ticketing, allowed: true, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) { r.VpcId = "vpc-uf6tkt0abc" })},
		{name: "vpcs: production VPC denied", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.VpcId = "vpc-bp1prod01" }),
			want: []string{"vpcs/VpcId"}},

		{name: "maxBandwidth: 100 allowed (the limit)", who: ticketing, allowed: true, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) { r.Bandwidth = ptr(100) })},
		{name: "maxBandwidth: 200 denied", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.Bandwidth = ptr(200) }),
			want: []string{"maxBandwidth/Bandwidth"}},

		{name: "chargeTypes: PREPAY denied where only POSTPAY is allowed", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.InstanceChargeType, r.Period = "PREPAY", ptr(1) }),
			want: []string{"chargeTypes/InstanceChargeType"}},
		{name: "chargeTypes: absent denied (the API default depends on the site)", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.InstanceChargeType = "" }),
			want: []string{"chargeTypes/InstanceChargeType"}},
		{name: "chargeTypes: absent allowed where both are allowed", who: platform, allowed: true, rule: "platform-unrestricted",
			req: with(ticketingRequest(), func(r *events.GatewayRequest) { r.InstanceChargeType = "" })},

		{name: "allowAutoPay: subscription with AutoPay allowed for finance", who: finance, req: financeRequest(),
			allowed: true, rule: "finance-subscriptions"},
		{name: "allowAutoPay: AutoPay with pay-as-you-go allowed (the API ignores it)", who: ticketing, allowed: true, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) { r.AutoPay = ptr(true) })},
		{name: "allowAutoPay: subscription with AutoPay denied for ticketing", who: ticketing, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) {
				r.InstanceChargeType, r.Period, r.AutoPay = "PREPAY", ptr(1), ptr(true)
			}),
			want: []string{"chargeTypes/InstanceChargeType", "allowAutoPay/AutoPay"}},

		{name: "allowSsl: SSL-VPN allowed for chatops", who: chatops, req: chatopsRequest(), allowed: true, rule: "chatops", wantCalls: 2},
		{name: "allowSsl: SSL-VPN denied for ticketing", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.EnableSsl = ptr(true) }),
			want: []string{"allowSsl/EnableSsl"}},
		{name: "maxSslConnections: API default of 5 allowed", who: chatops, allowed: true, rule: "chatops", wantCalls: 2,
			req: with(chatopsRequest(), func(r *events.GatewayRequest) { r.SslConnections = nil })},
		{name: "maxSslConnections: 100 denied", who: chatops, rule: "chatops", wantCalls: 2,
			req:  with(chatopsRequest(), func(r *events.GatewayRequest) { r.SslConnections = ptr(100) }),
			want: []string{"maxSslConnections/SslConnections"}},

		{name: "match chatUser: user ID outside the pattern falls through to default deny", req: chatopsRequest(),
			who:  policy.Requester{Source: chatops.Source, Caller: chatops.Caller, ChatUser: "alice"},
			want: []string{"/source"}},
		{name: "match caller: event without a webhook caller is not the bot", req: chatopsRequest(),
			who:  policy.Requester{Source: chatops.Source},
			want: []string{"/source"}},
		{name: "match caller: the bot's source through another route is not the bot", req: chatopsRequest(),
			who:  policy.Requester{Source: chatops.Source, Caller: "webhook", ChatUser: chatops.ChatUser},
			want: []string{"/source"}},
		{name: "match caller: a bus rule's source sent to the webhook matches no rule", req: financeRequest(),
			who:  policy.Requester{Source: finance.Source, Caller: "webhook"},
			want: []string{"/source"}},
		{name: "match caller: a bus rule's source sent by a chat route matches no rule", req: financeRequest(),
			who:  policy.Requester{Source: finance.Source, Caller: "slack", ChatUser: "U024BE7LH"},
			want: []string{"/source"}},
		{name: "match caller: the permissive bus rule is not reached through the webhook", who: policy.Requester{Source: platform.Source, Caller: "webhook"},
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.InstanceChargeType = "" }),
			want: []string{"/source"}},
		{name: "match source: another DingTalk conversation does not reach the trial bot's rule", who: policy.Requester{Source: "dingtalk:cidElsewhere77==", Caller: "dingtalk"},
			req: events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1net01", Bandwidth: ptr(20), InstanceChargeType: "POSTPAY",
				VSwitchId: "vsw-bp1aaaa", DisasterRecoveryVSwitchId: "vsw-bp1bbbb"},
			want: []string{"/source"}},
		{name: "match bus: the permissive rule's source put on another bus matches no rule",
			who:  policy.Requester{Source: platform.Source, Origin: policy.Origin{Bus: "vpngw-tickets"}},
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.InstanceChargeType = "" }),
			want: []string{"/source"}},
		{name: "match bus: the permissive rule's source without a bus (plain HTTP intake) matches no rule",
			who:  policy.Requester{Source: platform.Source},
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.InstanceChargeType = "" }),
			want: []string{"/source"}},
		{name: "match caller: the trial bot's rule is not reached from the bus", who: policy.Requester{Source: netops.Source},
			req: events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1net01", Bandwidth: ptr(20), InstanceChargeType: "POSTPAY",
				VSwitchId: "vsw-bp1aaaa", DisasterRecoveryVSwitchId: "vsw-bp1bbbb"},
			want: []string{"/source"}},

		{name: "namePattern: tkt-4711 allowed", who: ticketing, req: ticketingRequest(), allowed: true, rule: "ticketing", wantCalls: 2},
		{name: "namePattern: other name denied", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.Name = "vpn-4711" }),
			want: []string{"namePattern/Name"}},
		{name: "namePattern: missing name denied", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.Name = "" }),
			want: []string{"namePattern/Name"}},

		{name: "requiredTags: missing cost centre denied", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.Tags = nil }),
			want: []string{"requiredTags/Tags"}},
		{name: "requiredTags: cost centre of the wrong form denied", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "CostCenter", Value: "engineering"}} }),
			want: []string{"requiredTags/Tags[0].Value"}},
		{name: "requiredTags: regex value denied", who: finance, rule: "finance-subscriptions",
			req:  with(financeRequest(), func(r *events.GatewayRequest) { r.Tags[1].Value = "PO-12" }),
			want: []string{"requiredTags/Tags[1].Value"}},

		{name: "addTags: request may not set a tag the rule adds", who: ticketing, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) {
				r.Tags = append(r.Tags, events.Tag{Key: "ManagedBy", Value: "me"})
			}),
			want: []string{"addTags/Tags[1].Key"}},
		{name: "addTags: 15 request tags fit beside 2 added and 3 identity tags", who: ticketing, allowed: true, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) { r.Tags = manyTags(15) })},
		{name: "addTags: 16 request tags would exceed the 20-tag limit", who: ticketing, rule: "ticketing", wantCalls: 2,
			req:  with(ticketingRequest(), func(r *events.GatewayRequest) { r.Tags = manyTags(16) }),
			want: []string{"addTags/Tags"}},
		{name: "tags: identity tag prefix is reserved", who: ticketing, rule: "ticketing", wantCalls: 2,
			req: with(ticketingRequest(), func(r *events.GatewayRequest) {
				r.Tags = append(r.Tags, events.Tag{Key: "vpngw:source", Value: "forged"})
			}),
			want: []string{"tags/Tags[1].Key"}},

		{name: "quota.perDay: 9 of 10 used allowed", who: ticketing, req: ticketingRequest(), usage: fakeUsage{created: 9},
			allowed: true, rule: "ticketing", wantCalls: 2},
		{name: "quota.perDay: 10 of 10 used denied", who: ticketing, req: ticketingRequest(), usage: fakeUsage{created: 10},
			rule: "ticketing", wantCalls: 2, want: []string{"quota.perDay/source"}},
		{name: "quota.pending: 2 of 3 pending allowed", who: ticketing, req: ticketingRequest(), usage: fakeUsage{pending: 2},
			allowed: true, rule: "ticketing", wantCalls: 2},
		{name: "quota.pending: 3 of 3 pending denied", who: ticketing, req: ticketingRequest(), usage: fakeUsage{pending: 3},
			rule: "ticketing", wantCalls: 2, want: []string{"quota.pending/source"}},

		{name: "dryRun rule: allowed request is a dry run", who: netops, allowed: true, rule: "netops-trial", dryRun: true, wantCalls: 1,
			req: events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1net01", Bandwidth: ptr(20), InstanceChargeType: "POSTPAY",
				VSwitchId: "vsw-bp1aaaa", DisasterRecoveryVSwitchId: "vsw-bp1bbbb"}},
		{name: "dryRun rule: denied request is still a dry run", who: netops, rule: "netops-trial", dryRun: true, wantCalls: 1,
			req: events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1net01", Bandwidth: ptr(100), InstanceChargeType: "POSTPAY",
				VSwitchId: "vsw-bp1aaaa", DisasterRecoveryVSwitchId: "vsw-bp1bbbb"},
			want: []string{"maxBandwidth/Bandwidth"}},

		{name: "explicit permissive rule: 1000 Mbit/s subscription with SSL anywhere", who: platform, allowed: true, rule: "platform-unrestricted",
			req: events.GatewayRequest{RegionId: "eu-central-1", VpcId: "vpc-gw8anything", Bandwidth: ptr(1000),
				InstanceChargeType: "PREPAY", Period: ptr(36), AutoPay: ptr(true), EnableSsl: ptr(true), SslConnections: ptr(1000),
				VSwitchId: "vsw-gw8aaaa", DisasterRecoveryVSwitchId: "vsw-gw8bbbb"}},
	}

	t.Logf("| request | requester | rule | decision | violations |")
	t.Logf("|---|---|---|---|---|")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.allowed {
				// An allowed case must be a request the API would take too,
				// or the table proves less than it seems to.
				if errs := request.Validate(tc.req); errs != nil {
					t.Fatalf("allowed case is not a valid request: %+v", errs)
				}
			}
			d, err := p.Decide(tc.who, tc.req)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			// The store applies the decision's quota as it records the
			// request, and a refusal turns into this denial.
			d = d.OverQuota(tc.who, policy.Usage{PerDay: tc.usage.created, Pending: tc.usage.pending})
			if d.Allowed != tc.allowed || d.Rule != tc.rule || d.DryRun != tc.dryRun {
				t.Errorf("got Allowed %v Rule %q DryRun %v, want %v %q %v (%s)", d.Allowed, d.Rule, d.DryRun, tc.allowed, tc.rule, tc.dryRun, d.Message)
			}
			var got []string
			for _, v := range d.Violations {
				got = append(got, ruleKey(t, d.Rule, v)+"/"+v.Field)
				if v.Allowed == "" || v.Message == "" {
					t.Errorf("violation %+v lacks Allowed or Message", v)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations %q, want %q\n%s", got, tc.want, d.Message)
			}
			if !strings.Contains(d.Message, tc.who.Source) || (tc.rule != "" && !strings.Contains(d.Message, `"`+tc.rule+`"`)) {
				t.Errorf("message %q does not name rule %q and requester %q", d.Message, tc.rule, tc.who.Source)
			}
			if n := quotaBounds(d.Quota); n != tc.wantCalls {
				t.Errorf("decision carries quota %+v, want %d bounds", d.Quota, tc.wantCalls)
			}
			decision := "allowed"
			if !d.Allowed {
				decision = "denied"
			}
			if d.DryRun {
				decision += " (dry run)"
			}
			t.Logf("| %s | %s | %s | %s | %s |", tc.name, tc.who.Principal(), orDash(d.Rule), decision, orDash(strings.Join(got, ", ")))
		})
	}
}

// ruleKey extracts the rule setting a violation names: its message is
// `rule "<name>" <key>: ...`, or the default-deny sentence.
func ruleKey(t *testing.T, rule string, v events.FieldError) string {
	t.Helper()
	if rule == "" {
		if !strings.HasPrefix(v.Message, "no rule of the policy matches requester") {
			t.Errorf("default-deny violation message %q", v.Message)
		}
		return ""
	}
	prefix := fmt.Sprintf("rule %q ", rule)
	rest, ok := strings.CutPrefix(v.Message, prefix)
	if !ok {
		t.Errorf("violation message %q does not start with %q", v.Message, prefix)
		return "?"
	}
	key, _, _ := strings.Cut(rest, ":")
	return key
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func TestDefaultDeny(t *testing.T) {
	p, err := policy.Parse("t.yaml", []byte(`
version: 1
rules:
  - name: only-tickets
    match: {source: "https://tickets.example.com/*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY, PREPAY]
`))
	if err != nil {
		t.Fatal(err)
	}
	who := policy.Requester{Source: "/chat/slack", Caller: "bot", ChatUser: "U1"}
	d, err := p.Decide(who, ticketingRequest())
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Rule != "" || len(d.Violations) != 1 || len(d.AddTags) != 0 || !d.Quota.Zero() {
		t.Fatalf("no rule matches, want a denial without rule: %+v", d)
	}
	for _, s := range []string{`"/chat/slack"`, `caller "bot"`, `chat user "U1"`, "denied"} {
		if !strings.Contains(d.Message, s) {
			t.Errorf("message %q does not contain %s", d.Message, s)
		}
	}
	if v := d.Violations[0]; v.Field != "source" || v.Value != who.Source {
		t.Errorf("violation %+v, want Field source, Value %q", v, who.Source)
	}

	// A policy with no rules denies everything.
	empty, err := policy.Parse("t.yaml", []byte("version: 1\nrules: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := empty.Decide(who, ticketingRequest()); d.Allowed {
		t.Fatal("empty policy allowed a request")
	}
}

func TestFirstMatchingRuleWins(t *testing.T) {
	p, err := policy.Parse("t.yaml", []byte(`
version: 1
rules:
  - name: bot-small
    match: {source: "/hook", caller: slack}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
  - name: hook-any
    match: {source: "/hook", caller: "*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
`))
	if err != nil {
		t.Fatal(err)
	}
	req := with(ticketingRequest(), func(r *events.GatewayRequest) { r.Bandwidth = ptr(100) })
	d, _ := p.Decide(policy.Requester{Source: "/hook", Caller: "slack"}, req)
	if d.Allowed || d.Rule != "bot-small" {
		t.Errorf("bot: got %q allowed=%v; the first rule must decide even though a later one would allow", d.Rule, d.Allowed)
	}
	d, _ = p.Decide(policy.Requester{Source: "/hook", Caller: "webhook"}, req)
	if !d.Allowed || d.Rule != "hook-any" {
		t.Errorf("other caller: got %q allowed=%v, want hook-any allowed", d.Rule, d.Allowed)
	}
}

// TestCallerBindsRules: the same source through the bus and through each
// webhook route is decided by the rule written for that route, and a rule
// for the bus (no caller) does not hide a later rule for a webhook route.
func TestCallerBindsRules(t *testing.T) {
	p, err := policy.Parse("t.yaml", []byte(`
version: 1
rules:
  - name: bus
    match: {source: "/jobs"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
  - name: signed
    match: {source: "/jobs", caller: webhook}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
  - name: any-route
    match: {source: "*", caller: "*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 5
    chargeTypes: [POSTPAY]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		caller, rule string
	}{{"", "bus"}, {"webhook", "signed"}, {"slack", "any-route"}, {"dingtalk", "any-route"}} {
		d, err := p.Decide(policy.Requester{Source: "/jobs", Caller: tc.caller}, ticketingRequest())
		if err != nil || d.Rule != tc.rule {
			t.Errorf("caller %q: rule %q (%v), want %q", tc.caller, d.Rule, err, tc.rule)
		}
	}
}

// What the platform stamps binds a rule: a rule with bus, route or account
// takes only requests stamped with a match, and "*" still needs a stamp; a
// rule with key only requests signed with that webhook key.
func TestOriginBindsRules(t *testing.T) {
	p, err := policy.Parse("t.yaml", []byte(`
version: 1
rules:
  - name: ci-bus
    match: {source: "/jobs", bus: vpngw-ci}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
  - name: ci-route
    match: {source: "/jobs", route: "regex:ci-[0-9]+"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 500
    chargeTypes: [POSTPAY]
  - name: aws-any-account
    match: {source: "/jobs", account: "*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 200
    chargeTypes: [POSTPAY]
  - name: ci-key
    match: {source: "/jobs", caller: webhook, key: ci}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 100
    chargeTypes: [POSTPAY]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who  policy.Requester
		rule string
	}{
		{policy.Requester{Source: "/jobs", Origin: policy.Origin{Bus: "vpngw-ci"}}, "ci-bus"},
		{policy.Requester{Source: "/jobs", Origin: policy.Origin{Bus: "vpngw-other"}}, ""},
		{policy.Requester{Source: "/jobs", Origin: policy.Origin{Bus: "vpngw-other", Route: "ci-7"}}, "ci-route"},
		{policy.Requester{Source: "/jobs", Origin: policy.Origin{Route: "ci-x"}}, ""},
		{policy.Requester{Source: "/jobs", Origin: policy.Origin{Account: "123456789012"}}, "aws-any-account"},
		{policy.Requester{Source: "/jobs"}, ""},
		{policy.Requester{Source: "/jobs", Caller: "webhook", Key: "ci"}, "ci-key"},
		{policy.Requester{Source: "/jobs", Caller: "webhook", Key: "tickets"}, ""},
		{policy.Requester{Source: "/jobs", Caller: "webhook"}, ""},
		// A webhook request never carries an origin, and if it did it
		// would still not reach a bus rule.
		{policy.Requester{Source: "/jobs", Caller: "webhook", Origin: policy.Origin{Bus: "vpngw-ci"}}, ""},
	} {
		d, err := p.Decide(tc.who, ticketingRequest())
		if err != nil || d.Rule != tc.rule {
			t.Errorf("%s: rule %q (%v), want %q", tc.who, d.Rule, err, tc.rule)
		}
		if tc.rule == "" && !strings.Contains(d.Message, tc.who.String()) {
			t.Errorf("denial %q does not name the requester %s", d.Message, tc.who)
		}
	}
	if got := (policy.Requester{Source: "/jobs", Caller: "webhook", Key: "ci"}).Principal(); got != "webhook:ci" {
		t.Errorf("Principal = %q, want webhook:ci", got)
	}
}

func TestDryRunPolicyWide(t *testing.T) {
	p := loadSample(t)
	d, err := p.Decide(ticketing, ticketingRequest())
	if err != nil || d.DryRun {
		t.Fatalf("sample policy is not dry-run; got DryRun %v, err %v", d.DryRun, err)
	}
	p.DryRun = true
	for _, who := range []policy.Requester{ticketing, {Source: "/unknown"}} {
		d, err := p.Decide(who, ticketingRequest())
		if err != nil || !d.DryRun {
			t.Errorf("policy dryRun: %s got DryRun %v, err %v", who, d.DryRun, err)
		}
	}

	parsed, err := policy.Parse("t.yaml", []byte(`
version: 1
dryRun: true
rules:
  - name: r
    match: {source: "*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 5
    chargeTypes: [POSTPAY]
`))
	if err != nil || !parsed.DryRun {
		t.Fatalf("top-level dryRun: true not read: %v", err)
	}
}

func TestQuotaUsage(t *testing.T) {
	p := loadSample(t)

	// The decision hands on the rule's bounds and counts nothing itself.
	d, err := p.Decide(ticketing, ticketingRequest())
	if err != nil || !d.Allowed || d.Quota != (policy.Quota{PerDay: 10, Pending: 3}) {
		t.Fatalf("ticketing: %+v, %v; want allowed with quota perDay 10, pending 3", d, err)
	}
	netReq := events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1net01", Bandwidth: ptr(20), InstanceChargeType: "POSTPAY"}
	if d, _ := p.Decide(netops, netReq); d.Quota != (policy.Quota{Pending: 2}) {
		t.Errorf("netops: quota %+v, want only pending 2", d.Quota)
	}
	if d, _ := p.Decide(finance, financeRequest()); !d.Allowed || !d.Quota.Zero() {
		t.Errorf("finance: %+v, want allowed with no quota", d)
	}

	// Room under both bounds: unchanged.
	if got := d.OverQuota(ticketing, policy.Usage{PerDay: 9, Pending: 2}); !got.Allowed || len(got.Violations) != 0 || got.Message != d.Message {
		t.Errorf("under the quota: %+v", got)
	}
	// Both full: one violation each, naming the key, the counts and the
	// allowed value.
	got := d.OverQuota(ticketing, policy.Usage{PerDay: 10, Pending: 3})
	if got.Allowed || len(got.Violations) != 2 {
		t.Fatalf("over both bounds: %+v", got)
	}
	for i, want := range []struct{ key, count, allowed string }{
		{"quota.perDay", "has 10 gateways", "at most 10 gateways in 24 hours"},
		{"quota.pending", "has 3 gateways", "at most 3 gateways pending at once"},
	} {
		v := got.Violations[i]
		if !strings.HasPrefix(v.Message, `rule "ticketing" `+want.key+": ") || !strings.Contains(v.Message, want.count) ||
			v.Allowed != want.allowed || v.Field != "source" || v.Value != ticketing.Source {
			t.Errorf("violation %d: %+v, want %s with %q and allowed %q", i, v, want.key, want.count, want.allowed)
		}
		if !strings.Contains(got.Message, want.key) {
			t.Errorf("message %q does not name %s", got.Message, want.key)
		}
	}
	if !strings.Contains(got.Message, ticketing.Source) || !strings.HasPrefix(got.Message, `rule "ticketing" denies`) {
		t.Errorf("message %q does not name the rule and the requester", got.Message)
	}
	// The decision it came from is left as it was.
	if !d.Allowed || len(d.Violations) != 0 {
		t.Errorf("OverQuota changed its receiver: %+v", d)
	}
	// A denial keeps its violations and gains the quota's.
	big := with(ticketingRequest(), func(r *events.GatewayRequest) { r.Bandwidth = ptr(200) })
	denied, _ := p.Decide(ticketing, big)
	over := denied.OverQuota(ticketing, policy.Usage{PerDay: 10})
	if over.Allowed || len(over.Violations) != len(denied.Violations)+1 || !strings.Contains(over.Message, "maxBandwidth") || !strings.Contains(over.Message, "quota.perDay") {
		t.Errorf("denied and over the quota: %+v", over)
	}
}

// quotaBounds is how many bounds q sets.
func quotaBounds(q policy.Quota) int {
	n := 0
	if q.PerDay > 0 {
		n++
	}
	if q.Pending > 0 {
		n++
	}
	return n
}

func TestDecideAddTags(t *testing.T) {
	p := loadSample(t)
	d, err := p.Decide(ticketing, ticketingRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := []events.Tag{{Key: "ManagedBy", Value: "vpngw"}, {Key: "Channel", Value: "ticketing"}}
	if !slices.Equal(d.AddTags, want) {
		t.Fatalf("AddTags %v, want %v (the file's order)", d.AddTags, want)
	}
	// Changing the decision's slice must not change the policy.
	d.AddTags[0].Value = "changed"
	d2, _ := p.Decide(ticketing, ticketingRequest())
	if d2.AddTags[0].Value != "vpngw" {
		t.Fatal("Decision.AddTags aliases the policy's tags")
	}

	// The request with its tags, the rule's and the identity tags is still
	// a request the API takes, at the largest allowed tag count.
	req := with(ticketingRequest(), func(r *events.GatewayRequest) { r.Tags = manyTags(15) })
	d, err = p.Decide(ticketing, req)
	if err != nil || !d.Allowed {
		t.Fatalf("15 tags: %+v, %v", d, err)
	}
	req.Tags = append(req.Tags, d.AddTags...)
	req.Tags = append(req.Tags, policy.IdentityTags(ticketing.Source, "evt-1", ticketing.Principal())...)
	if errs := request.Validate(req); errs != nil {
		t.Fatalf("tagged request is not valid: %+v", errs)
	}
	if len(req.Tags) != request.MaxTags {
		t.Fatalf("%d tags, want exactly %d", len(req.Tags), request.MaxTags)
	}
}

func TestDecideNilPolicy(t *testing.T) {
	var p *policy.Policy
	if _, err := p.Decide(ticketing, ticketingRequest()); !errors.Is(err, policy.ErrNilPolicy) {
		t.Fatalf("got %v, want ErrNilPolicy", err)
	}
}

func TestSampleRules(t *testing.T) {
	p := loadSample(t)
	want := []string{"ticketing", "chatops", "netops-trial", "finance-subscriptions", "platform-unrestricted"}
	if got := p.Rules(); !slices.Equal(got, want) {
		t.Fatalf("rules %q, want %q", got, want)
	}
	if p.Name() != samplePath {
		t.Fatalf("Name %q", p.Name())
	}
}
