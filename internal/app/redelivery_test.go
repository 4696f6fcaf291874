package app_test

import (
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/store"
)

// A request left received with Bandwidth 10; the operator lowers the rule
// to maxBandwidth 5. A delivery of the same id carrying Bandwidth 5 must not
// be decided on its own data while the recorded parameters (Bandwidth 10)
// are sent: the record is decided as recorded, and denied.
func TestRedeliveryWithOtherDataDoesNotCreateTheRecorded(t *testing.T) {
	s, changed := recordedThenTightened(t, "late-tame")
	tame := validData()
	tame["Bandwidth"] = 5
	out, err := provisionOn(changed, 20*time.Second, requestEvent("late-tame", tame))
	t.Logf("redelivery: %+v %v", out, err)
	for _, g := range s.API.Gateways() {
		if g.Bandwidth != 5 {
			t.Fatalf("created a %d Mbit/s gateway under a rule allowing at most 5", g.Bandwidth)
		}
	}
	got := s.ticketRecord("late-tame")
	if got.State != store.Received {
		t.Fatalf("a delivery with other data changed the record: state %s, want received", got.State)
	}
}

// The same request redelivered as it was recorded is decided again under
// the policy in force, as its recorded requester: denied now, it fails.
func TestRedeliveryAsRecordedIsDecidedAgain(t *testing.T) {
	s, changed := recordedThenTightened(t, "late-same")
	out, err := provisionOn(changed, 20*time.Second, requestEvent("late-same", validData()))
	t.Logf("redelivery: %+v %v", out, err)
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for a request the policy now denies", n)
	}
	got := s.ticketRecord("late-same")
	if got.State != store.Failed {
		t.Fatalf("state %s, want failed (PolicyDenied)", got.State)
	}
}

// A bus request left received is delivered again by someone holding the
// webhook secret, with the same source and id: the webhook's decision (no
// rule for caller webhook) must not fail the bus request's own record.
func TestWebhookDeliveryOfABusRequestIDLeavesItsRecord(t *testing.T) {
	s := newStack(t, apptest.WithEnv(webhookEnv(busOnlyPolicy)))
	s.recordOnly(requestEvent("victim-1", validData()))
	code, resp := s.postWebhook(requestEvent("victim-1", validData()))
	t.Logf("webhook: %d %+v", code, resp)
	got := s.ticketRecord("victim-1")
	if got.State != store.Received || got.Caller != "" || got.LastError != "" {
		t.Fatalf("the bus request's record changed by a webhook delivery of its id: state=%s caller=%q last_error=%q", got.State, got.Caller, got.LastError)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls from a webhook delivery of a bus request's id", n)
	}
}

// A refused request delivered again is answered as it was the first time:
// failed, with the same code and message, whether the answer comes from
// deciding it or from its record.
func TestRedeliveryOfARefusalKeepsItsCode(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": testPolicy}))
	d := validData()
	d["Bandwidth"] = 100
	first, err := s.provision(requestEvent("refused-twice", d))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.provision(requestEvent("refused-twice", d))
	if err != nil {
		t.Fatal(err)
	}
	f, a := first.Results[0], again.Results[0]
	if f.State != store.Failed || f.Code != events.CodePolicyDenied {
		t.Fatalf("first answer %+v, want failed, %s", f, events.CodePolicyDenied)
	}
	if a.State != f.State || a.Code != f.Code || a.Message != f.Message {
		t.Fatalf("the redelivery was answered state %s, code %q, message %q; the first delivery state %s, code %q, message %q",
			a.State, a.Code, a.Message, f.State, f.Code, f.Message)
	}
}
