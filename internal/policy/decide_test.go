package policy_test

import (
	"errors"
	"fmt"
	"os"
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

// Requesters of the sample policy.
var (
	ticketing = policy.Requester{Source: "https://tickets.example.com/queue/network"}
	netops    = policy.Requester{Source: "dingtalk:cidNetops01==", Caller: "dingtalk"}
	finance   = policy.Requester{Source: "https://erp.example.com/procurement"}
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

// casesPath is the sample policy's cases: the table of requests it allows
// and denies, which `vpngwctl policy test` runs too.
var casesPath = filepath.Join("..", "..", "deploy", "policy.sample.cases.jsonl")

// TestDecideSample runs the sample policy's cases: for every rule setting at
// least one request it allows and one it denies. Beyond what the cases
// state, an allowed request must be one the API takes too, every violation
// says what is allowed, and the message names the rule and the requester.
func TestDecideSample(t *testing.T) {
	p := loadSample(t)
	f, err := os.Open(casesPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := policy.ReadCases(f)
	if err != nil || len(cases) < 40 {
		t.Fatalf("ReadCases: %d cases, %v", len(cases), err)
	}
	t.Logf("| request | requester | rule | decision | violations |")
	t.Logf("|---|---|---|---|---|")
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			res, err := p.Check(tc)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if !res.OK() {
				t.Errorf("line %d: %s\n%s", tc.Line, strings.Join(res.Mismatches, "; "), res.Decision.Message)
			}
			d, who := res.Decision, tc.Who()
			if tc.Expect.Allowed {
				// An allowed case must be a request the API would take too,
				// or the table proves less than it seems to.
				req, _ := tc.GatewayRequest()
				if errs := request.Validate(req); errs != nil {
					t.Fatalf("allowed case is not a valid request: %+v", errs)
				}
			}
			for _, v := range d.Violations {
				if v.Allowed == "" || v.Message == "" {
					t.Errorf("violation %+v lacks Allowed or Message", v)
				}
				if d.Rule == "" && !strings.HasPrefix(v.Message, "no rule of the policy matches requester") {
					t.Errorf("default-deny violation message %q", v.Message)
				}
			}
			if !strings.Contains(d.Message, who.Source) || (d.Rule != "" && !strings.Contains(d.Message, `"`+d.Rule+`"`)) {
				t.Errorf("message %q does not name rule %q and requester %q", d.Message, d.Rule, who.Source)
			}
			decision := "allowed"
			if !d.Allowed {
				decision = "denied"
			}
			if d.DryRun {
				decision += " (dry run)"
			}
			t.Logf("| %s | %s | %s | %s | %s |", tc.Name, who.Principal(), orDash(d.Rule), decision, orDash(strings.Join(res.Got.Violations, ", ")))
		})
	}
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
