package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

// recordOnly delivers payload with less time than provision keeps in
// reserve before a deadline: the request is recorded as received, and
// nothing is created; the reconcile tick re-drives it later.
func (s *stack) recordOnly(payload []byte) {
	s.t.Helper()
	out, err := provisionOn(s.App, 2*time.Second, payload)
	if err == nil || len(out.Results) == 0 || out.Results[0].State != store.Received {
		s.t.Fatalf("short delivery: %+v %v, want the request recorded as received and a retry asked for", out, err)
	}
}

// recordOnlyWebhook is recordOnly through the webhook's POST /.
func (s *stack) recordOnlyWebhook(body []byte) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := s.signed(httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body)), testWebhookSecret, body)
	w := httptest.NewRecorder()
	s.App.Webhook.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable {
		s.t.Fatalf("short webhook delivery: %d %s, want 503 (recorded, not attempted)", w.Code, w.Body)
	}
}

// recordedThenTightened starts a stack under redrivePolicy and leaves the
// request id recorded as received; it returns the stack and a second
// instance under tightRedrivePolicy, the operator's change.
func recordedThenTightened(t *testing.T, id string) (*stack, *app.App) {
	t.Helper()
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": redrivePolicy}))
	s.recordOnly(requestEvent(id, validData()))
	return s, s.withPolicy(tightRedrivePolicy)
}

// ticketRecord is the stored record of the ticket request id; a store
// error fails the test.
func (s *stack) ticketRecord(id string) store.Request {
	s.t.Helper()
	rec, err := s.App.Store.Get(s.t.Context(), requestKey("acs:eventbridge:tickets", id))
	if err != nil {
		s.t.Fatal(err)
	}
	return rec
}

// withPolicy starts a second instance of the stack's application on the
// same store, broker and API, under another policy: the operator's change
// as the next reconcile tick sees it.
func (s *stack) withPolicy(yaml string) *app.App {
	s.t.Helper()
	p, err := policy.Parse("changed", []byte(yaml))
	if err != nil {
		s.t.Fatal(err)
	}
	cfg := s.App.Config
	cfg.Policy = p
	return s.NewApp(cfg, s.Log)
}

const redrivePolicy = `version: 1
rules:
  - name: tickets-bus
    match: {source: "acs:eventbridge:tickets"}
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
  - name: tickets-webhook
    match: {source: "acs:eventbridge:tickets", caller: webhook}
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
`

// tightRedrivePolicy is redrivePolicy with its bus rule lowered to
// maxBandwidth 5: validData's 10 Mbit/s is denied from the bus.
var tightRedrivePolicy = strings.Replace(redrivePolicy, "maxBandwidth: 1000", "maxBandwidth: 5", 1)

// A request left received is decided again, as its recorded requester,
// under the policy in force when the tick re-drives it: the bus request
// the operator's new policy denies fails PolicyDenied and is not created;
// the webhook's request, still allowed by the webhook's rule, is created.
func TestRedriveIsDecidedAgain(t *testing.T) {
	s := newStack(t, apptest.WithEnv(webhookEnv(redrivePolicy)))
	s.recordOnly(requestEvent("late-bus", validData()))
	s.recordOnlyWebhook(requestEvent("late-hook", validData()))
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d creates before the re-drive", n)
	}

	changed := s.withPolicy(tightRedrivePolicy)
	s.Clock.Advance(3 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := changed.Reconcile.Tick(ctx, reconcile.Options{})
	if err != nil || rep.Redriven != 2 {
		t.Fatalf("tick: %+v %v, want both re-driven", rep, err)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 1 {
		t.Fatalf("%d creates, want 1 (the webhook's request only)", n)
	}
	bus, err := s.App.Store.Get(ctx, requestKey("acs:eventbridge:tickets", "late-bus"))
	if err != nil || bus.State != store.Failed || !strings.HasPrefix(bus.LastError, events.CodePolicyDenied+": ") || !strings.Contains(bus.LastError, "tickets-bus") {
		t.Fatalf("bus request after the re-drive: %+v %v, want failed PolicyDenied naming the rule", bus, err)
	}
	hook, err := s.App.Store.Get(ctx, requestKey("acs:eventbridge:tickets", "late-hook"))
	if err != nil || hook.State != store.Pending || hook.Caller != webhook.CallerWebhook {
		t.Fatalf("webhook request after the re-drive: %+v %v, want pending, recorded with its caller", hook, err)
	}
	var denied int
	for _, e := range s.EventsOfType(events.TypeFailed) {
		var f events.Failed
		if err := json.Unmarshal(e.Data, &f); err != nil {
			t.Fatal(err)
		}
		if f.Request.EventID == "late-bus" && f.Stage == events.StagePolicy && f.Code == events.CodePolicyDenied && len(f.Errors) > 0 {
			denied++
		}
	}
	if denied != 1 {
		t.Fatalf("%d failed events for the denied re-drive, want 1 at stage policy", denied)
	}
}

// A request left received is not refused by its own record, neither on
// its redelivery nor on the tick's re-drive: under quota.pending 2, the two
// requests left received are both created.
func TestRedriveQuotaLeavesTheRequestOut(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": strings.Replace(redrivePolicy, "chargeTypes: [POSTPAY]\n", "chargeTypes: [POSTPAY]\n    quota: {pending: 2}\n", 1)}))
	s.recordOnly(requestEvent("late-quota-1", validData()))
	s.recordOnly(requestEvent("late-quota-2", validData()))
	// The platform delivers the first again.
	resp, err := s.provision(requestEvent("late-quota-1", validData()))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("redelivery: %+v %v, want pending (2 pending, itself included, is within the quota)", resp.Results, err)
	}
	// The tick re-drives the second.
	s.Clock.Advance(3 * time.Minute)
	if rep := s.tick(); rep.Redriven != 1 {
		t.Fatalf("tick: %+v, want the request re-driven", rep)
	}
	got, err := s.App.Store.Get(context.Background(), requestKey("acs:eventbridge:tickets", "late-quota-2"))
	if err != nil || got.State != store.Pending {
		t.Fatalf("after the re-drive: %+v %v, want pending", got, err)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 2 {
		t.Fatalf("%d creates, want 2", n)
	}
}

// A redelivery of a request left received, which the policy now denies,
// fails the recorded request itself: it does not stay received for the
// tick to create.
func TestRedeliveryDeniedNowFailsTheRecord(t *testing.T) {
	s, changed := recordedThenTightened(t, "late-denied")
	out, err := provisionOn(changed, 20*time.Second, requestEvent("late-denied", validData()))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Results[0]; r.State != store.Failed || r.Code != events.CodePolicyDenied {
		t.Fatalf("redelivery: %+v, want failed PolicyDenied", r)
	}
	got, err := s.App.Store.Get(t.Context(), requestKey("acs:eventbridge:tickets", "late-denied"))
	if err != nil || got.State != store.Failed {
		t.Fatalf("record after the redelivery: %+v %v, want failed", got, err)
	}
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d creates for a request the policy denied", n)
	}
}
