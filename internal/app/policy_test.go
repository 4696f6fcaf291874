package app_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/store"
)

const testPolicy = `version: 1
rules:
  - name: tickets
    match:
      source: "acs:eventbridge:tickets"
    regions: [cn-hangzhou]
    vpcs: ["vpc-bp1vpngwdemo*"]
    maxBandwidth: 20
    chargeTypes: [POSTPAY]
    addTags:
      ManagedBy: vpngw
    quota:
      pending: 2
  - name: trial
    match:
      source: "/trial/*"
    dryRun: true
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
`

func TestPolicyDecidesBeforeAnyAPICall(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": testPolicy}))

	// Allowed: created, tagged with the rule's tags and the request's identity.
	resp, err := s.provision(requestEvent("pol-ok", validData()))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("allowed request: %+v %v", resp, err)
	}
	g, err := s.API.Gateway(resp.Results[0].VpnGatewayId)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range g.Tags {
		tags[tg.Key] = tg.Value
	}
	for _, want := range policy.IdentityTags("acs:eventbridge:tickets", "pol-ok", "acs:eventbridge:tickets") {
		if tags[want.Key] != want.Value {
			t.Errorf("tag %s = %q, want %q", want.Key, tags[want.Key], want.Value)
		}
	}
	if tags["ManagedBy"] != "vpngw" || tags["vpngw:event-id"] != "pol-ok" {
		t.Fatalf("gateway tags %v: want the rule's and the request's identity", tags)
	}

	// Denied by a rule: failed at stage policy, no API call.
	before := s.API.Calls("CreateVpnGateway")
	d := validData()
	d["Bandwidth"] = 100
	resp, err = s.provision(requestEvent("pol-big", d))
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Results[0]
	if r.State != store.Failed || r.Code != events.CodePolicyDenied || !strings.Contains(r.Message, "tickets") || !strings.Contains(r.Message, "acs:eventbridge:tickets") {
		t.Fatalf("over-bandwidth: %+v, want PolicyDenied naming the rule and the requester", r)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != before {
		t.Fatalf("a denied request reached the API (%d calls)", n-before)
	}
	var f events.Failed
	for _, e := range s.EventsOfType(events.TypeFailed) {
		_ = json.Unmarshal(e.Data, &f)
	}
	if f.Stage != events.StagePolicy || f.Code != events.CodePolicyDenied || len(f.Errors) == 0 {
		t.Fatalf("failed event %+v", f)
	}

	// Quota: two pending at once; the third is denied.
	if _, err := s.provision(requestEvent("pol-ok-2", validData())); err != nil {
		t.Fatal(err)
	}
	resp, _ = s.provision(requestEvent("pol-ok-3", validData()))
	if resp.Results[0].Code != events.CodePolicyDenied {
		t.Fatalf("third pending request: %+v, want denied by the quota", resp.Results[0])
	}

	// No rule for the source: denied by default.
	b, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": "x", "source": "/unknown/bot",
		"type": events.TypeRequested, "data": validData()})
	resp, _ = s.provision(b)
	if resp.Results[0].Code != events.CodePolicyDenied || !strings.Contains(resp.Results[0].Message, "/unknown/bot") {
		t.Fatalf("unmatched source: %+v, want default deny naming the requester", resp.Results[0])
	}
}

func TestDryRunCreatesNothing(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": testPolicy}))
	// A rule-level dry run, and a request-level one on an allowed rule.
	rule, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": "dry-1", "source": "/trial/bot",
		"type": events.TypeRequested, "data": validData()})
	var req map[string]any
	_ = json.Unmarshal(requestEvent("dry-2", validData()), &req)
	req[intake.DryRunExtension] = "true"
	one, _ := json.Marshal(req)
	for _, payload := range [][]byte{rule, one} {
		resp, err := s.provision(payload)
		if err != nil || resp.Results[0].State != store.DryRun {
			t.Fatalf("dry run: %+v %v", resp, err)
		}
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 || len(s.API.Gateways()) != 0 {
		t.Fatalf("a dry run created something: %d calls", n)
	}
	val := s.EventsOfType(events.TypeValidated)
	if len(val) != 2 {
		t.Fatalf("%d validated events, want 2", len(val))
	}
	var v events.Validated
	if err := json.Unmarshal(val[0].Data, &v); err != nil || !v.WouldCreate || v.Parameters.VpcId == "" || v.ClientToken == "" {
		t.Fatalf("validated data %+v %v", v, err)
	}
	// Nothing stays pending: the next tick has nothing to do.
	s.Clock.Advance(time.Hour)
	if rep := s.tick(); rep.Claimed != 0 || rep.Redriven != 0 {
		t.Fatalf("tick after dry runs: %+v", rep)
	}
}
