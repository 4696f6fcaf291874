package policy_test

import (
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/policy"
)

func TestDecideDelete(t *testing.T) {
	p, err := policy.Parse("test.yaml", []byte(`version: 1
rules:
  - name: own
    match: {source: "/own/*"}
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
    actions: [create, delete]
  - name: ops
    match: {source: "/ops"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
    actions: [delete]
    deleteOwnOnly: false
  - name: createonly
    match: {source: "*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
`))
	if err != nil {
		t.Fatal(err)
	}
	target := func(by, region string) policy.DeleteTarget {
		return policy.DeleteTarget{GatewayID: "vpn-bp1x", RegionID: region, CreatedBy: policy.Requester{Source: by}}
	}
	for _, tc := range []struct {
		name    string
		who     string
		target  policy.DeleteTarget
		allowed bool
		key     string
	}{
		{"own source, own gateway", "/own/a", target("/own/a", "cn-hangzhou"), true, ""},
		{"own source, another's gateway", "/own/a", target("/own/b", "cn-hangzhou"), false, "deleteOwnOnly"},
		{"own source, region outside the rule", "/own/a", target("/own/a", "cn-beijing"), false, "regions"},
		{"any gateway with deleteOwnOnly false", "/ops", target("/own/b", "cn-beijing"), true, ""},
		{"create-only rule", "/elsewhere", target("/elsewhere", "cn-hangzhou"), false, "actions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := p.DecideDelete(policy.Requester{Source: tc.who}, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed %v, want %v: %s", d.Allowed, tc.allowed, d.Message)
			}
			if tc.key != "" && (len(d.Violations) == 0 || !strings.Contains(d.Message, tc.key+":")) {
				t.Errorf("message %q does not name rule key %s", d.Message, tc.key)
			}
		})
	}
	// A create under a delete-only rule is denied.
	none, _ := policy.Parse("none.yaml", []byte("version: 1\nrules: []\n"))
	if none != nil {
		d, err := none.DecideDelete(policy.Requester{Source: "/x"}, target("/x", "cn-hangzhou"))
		if err != nil || d.Allowed {
			t.Errorf("empty policy: %+v %v", d, err)
		}
	}
}

func TestLoadRefusesBadActions(t *testing.T) {
	base := `version: 1
rules:
  - name: r
    match: {source: "*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
`
	for _, tc := range []struct{ extra, want string }{
		{"    actions: [create, remove]\n", `"remove" is not an action`},
		{"    actions: []\n", "non-empty list of actions"},
		{"    actions: [delete, delete]\n", "listed twice"},
		{"    deleteOwnOnly: false\n", "has no effect unless actions lists delete"},
	} {
		_, err := policy.Parse("bad.yaml", []byte(base+tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.extra, err, tc.want)
		}
	}
}

func TestSampleAllowsTicketingToDeleteItsOwn(t *testing.T) {
	p := loadSample(t)
	d, err := p.DecideDelete(ticketing, policy.DeleteTarget{GatewayID: "vpn-bp1t", RegionID: "cn-hangzhou", CreatedBy: ticketing})
	if err != nil || !d.Allowed {
		t.Fatalf("ticketing deleting its own: %+v %v", d, err)
	}
	d, _ = p.DecideDelete(ticketing, policy.DeleteTarget{GatewayID: "vpn-bp1t", RegionID: "cn-hangzhou", CreatedBy: finance})
	if d.Allowed {
		t.Error("ticketing may delete what another source created")
	}
	d, _ = p.DecideDelete(finance, policy.DeleteTarget{GatewayID: "vpn-bp1t", RegionID: "cn-hangzhou", CreatedBy: finance})
	if d.Allowed {
		t.Error("a create-only rule allows deleting")
	}
}

func TestDeleteOnlyRuleDeniesCreates(t *testing.T) {
	p, err := policy.Parse("test.yaml", []byte(`version: 1
rules:
  - name: cleanup
    match: {source: "/ops"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
    actions: [delete]
`))
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Decide(policy.Requester{Source: "/ops"}, ticketingRequest())
	if err != nil || d.Allowed || !strings.Contains(d.Message, "actions:") {
		t.Fatalf("create under a delete-only rule: %+v %v", d, err)
	}
}

// deleteOwnOnly compares the whole requester: a webhook sender or a bus
// producer that claims the source of another requester, or another user of
// the same chat team, does not own what that requester created.
func TestDeleteOwnOnlyComparesTheWholeRequester(t *testing.T) {
	p, err := policy.Parse("test.yaml", []byte(`version: 1
rules:
  - name: any
    match: {source: "*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
    actions: [create, delete]
  - name: hooks
    match: {source: "*", caller: "*"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
    actions: [create, delete]
`))
	if err != nil {
		t.Fatal(err)
	}
	bus := policy.Requester{Source: "acs:eventbridge:tickets", Origin: policy.Origin{Bus: "tickets"}}
	slack := policy.Requester{Source: "slack:T1", Caller: "slack", ChatUser: "U1"}
	for _, tc := range []struct {
		name    string
		who, by policy.Requester
		allowed bool
	}{
		{"the creator itself", bus, bus, true},
		{"a webhook claiming the bus's source", policy.Requester{Source: bus.Source, Caller: "webhook"}, bus, false},
		{"another bus", policy.Requester{Source: bus.Source, Origin: policy.Origin{Bus: "other"}}, bus, false},
		{"another key", policy.Requester{Source: "/ci", Caller: "webhook", Key: "b"}, policy.Requester{Source: "/ci", Caller: "webhook", Key: "a"}, false},
		{"another user of the same team", policy.Requester{Source: "slack:T1", Caller: "slack", ChatUser: "U2"}, slack, false},
		{"the same chat user", slack, slack, true},
	} {
		d, err := p.DecideDelete(tc.who, policy.DeleteTarget{GatewayID: "vpn-bp1x", RegionID: "cn-hangzhou", CreatedBy: tc.by})
		if err != nil || d.Allowed != tc.allowed {
			t.Errorf("%s: allowed %v, want %v: %s %v", tc.name, d.Allowed, tc.allowed, d.Message, err)
		}
	}
}
