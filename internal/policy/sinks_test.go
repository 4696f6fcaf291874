package policy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/policy"
)

// TestRuleSinks: a rule's sinks are handed to every decision it makes,
// allowed or denied, and listed by Routes; a request no rule matches, and
// a rule without sinks, route nowhere in particular.
func TestRuleSinks(t *testing.T) {
	p, err := policy.Parse("policy.yaml", []byte(validRule+"    sinks: [tickets, audit]\n"+`  - name: other
    match:
      source: "/other"
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 5
    chargeTypes: [POSTPAY]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"tickets", "audit"}
	if got := p.Routes(); len(got) != 1 || got[0].Rule != "r" || got[0].Index != 0 || !slices.Equal(got[0].Sinks, want) {
		t.Errorf("Routes() = %+v, want rule r (rules[0]) to %q", got, want)
	}
	req := events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1x", Bandwidth: ptr(5), InstanceChargeType: "POSTPAY"}
	for _, c := range []struct {
		name   string
		who    policy.Requester
		req    events.GatewayRequest
		want   []string
		denied bool
	}{
		{"allowed by the routing rule", policy.Requester{Source: "/hook"}, req, want, false},
		{"denied by the routing rule", policy.Requester{Source: "/hook"}, events.GatewayRequest{RegionId: "cn-beijing", VpcId: "vpc-bp1x", Bandwidth: ptr(5), InstanceChargeType: "POSTPAY"}, want, true},
		{"a rule without sinks", policy.Requester{Source: "/other"}, req, nil, false},
		{"no rule", policy.Requester{Source: "/nobody"}, req, nil, true},
	} {
		d, err := p.Decide(c.who, c.req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.Sinks, c.want) || d.Allowed == c.denied {
			t.Errorf("%s: Decide = allowed %v, sinks %q; want allowed %v, sinks %q", c.name, d.Allowed, d.Sinks, !c.denied, c.want)
		}
	}
}

func TestRuleSinksErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"    sinks: []\n", `policy.yaml:11: rules[0].sinks: an empty list routes the rule's outcomes nowhere`},
		{"    sinks: tickets\n", `rules[0].sinks: want a list of one or more sink names`},
		{"    sinks: [Tickets]\n", `policy.yaml:11: rules[0].sinks[0]: "Tickets" is not a sink name: use lower-case letters`},
		{"    sinks: [chat]\n", `rules[0].sinks[0]: "chat" is the chat replies' destination`},
		{"    sinks: [a, a]\n", `rules[0].sinks[1]: sink "a" is listed twice`},
	} {
		_, err := policy.Parse("policy.yaml", []byte(validRule+c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to hold %q", c.yaml, err, c.want)
		}
	}
	for _, ok := range []string{"a", "tickets", "ticket-system_2", strings.Repeat("x", policy.MaxSinkNameLength)} {
		if err := policy.CheckSinkName(ok); err != nil {
			t.Errorf("CheckSinkName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "2a", "-a", "a.b", "a,b", "a=b", "chat", strings.Repeat("x", policy.MaxSinkNameLength+1)} {
		if err := policy.CheckSinkName(bad); err == nil {
			t.Errorf("CheckSinkName(%q) = nil, want a refusal", bad)
		}
	}
}
