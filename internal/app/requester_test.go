package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

// testWebhookSecret signs the stack's POST / in these tests.
const testWebhookSecret = "0123456789abcdef0123456789abcdef"

// webhookEnv is the environment for a stack whose webhook POST /
// is on, under policy.
func webhookEnv(policy string) map[string]string {
	return map[string]string{"VPNGW_POLICY_INLINE": policy, "VPNGW_WEBHOOK_SECRET": testWebhookSecret, "VPNGW_WEBHOOK_SECRET_SOURCES": "*"}
}

// postIntake sends body to the stack's CloudEvents HTTP intake (the local
// stack's POST /), as the event bus's HTTP delivery does.
func (s *stack) postIntake(body []byte) (int, app.ProvisionResponse) {
	s.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentTypeOf(body))
	w := httptest.NewRecorder()
	s.App.HTTPHandler().ServeHTTP(w, r)
	var resp app.ProvisionResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		s.t.Fatalf("intake answered %d %s", w.Code, w.Body)
	}
	return w.Code, resp
}

// postWebhook sends body to the webhook's POST /, signed with the secret.
func (s *stack) postWebhook(body []byte) (int, webhook.Response) {
	s.t.Helper()
	return s.postWebhookKey(testWebhookSecret, body)
}

// contentTypeOf is the structured or batch mode media type of body.
func contentTypeOf(body []byte) string {
	if len(body) > 0 && body[0] == '[' {
		return intake.MediaTypeBatch
	}
	return intake.MediaTypeStructured
}

// withExtension adds a CloudEvents extension attribute to an event.
func withExtension(event []byte, name, value string) []byte {
	var m map[string]any
	_ = json.Unmarshal(event, &m)
	m[name] = value
	b, _ := json.Marshal(m)
	return b
}

// busOnlyPolicy allows the ticketing source on the event bus only: big
// subscriptions paid without a person, as the sample's procurement rule.
const busOnlyPolicy = `version: 1
rules:
  - name: procurement
    match:
      source: "acs:eventbridge:tickets"
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY, PREPAY]
    allowAutoPay: true
  - name: batch-jobs
    match:
      source: "/batch/nightly"
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
`

// The holder of the webhook secret claims a source that a bus-only rule
// allows: the request matches no rule and nothing is created, while the
// same event from the bus is allowed.
func TestWebhookCannotClaimABusRule(t *testing.T) {
	s := newStack(t, apptest.WithEnv(webhookEnv(busOnlyPolicy)))
	code, resp := s.postWebhook(requestEvent("claim-1", validData()))
	if code != http.StatusBadRequest || len(resp.Results) != 1 {
		t.Fatalf("webhook: %d %+v, want 400 with one result", code, resp)
	}
	if r := resp.Results[0]; r.State != store.Failed || r.Code != events.CodePolicyDenied {
		t.Fatalf("webhook request: %+v, want failed PolicyDenied", r)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for a request the policy does not allow from the webhook", n)
	}
	// The same source on the bus is allowed.
	if resp, err := s.provision(requestEvent("claim-2", validData())); err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("bus request: %+v %v, want pending", resp, err)
	}
}

// A batch marked vpngwdryrun through the HTTP intake is a dry run item by
// item, as each request would be alone: every item is validated and
// answered, and nothing is created.
func TestDryRunBatchCreatesNothing(t *testing.T) {
	s := newStack(t)
	batch := withExtension(batchEvent("dry-batch-1", []map[string]any{validData(), validData(), validData()}), intake.DryRunExtension, "true")
	code, resp := s.postIntake(batch)
	if code != http.StatusAccepted || len(resp.Results) != 3 {
		t.Fatalf("intake: %d %+v, want 202 with 3 results", code, resp)
	}
	for i, r := range resp.Results {
		if r.State != store.DryRun {
			t.Errorf("item %d: %+v, want dry-run", i, r)
		}
	}
	if n, g := s.API.Calls("CreateVpnGateway"), len(s.API.Gateways()); n != 0 || g != 0 {
		t.Fatalf("a dry-run batch made %d CreateVpnGateway calls and %d gateways, want none", n, g)
	}
	if n := len(s.EventsOfType(events.TypeValidated)); n != 3 {
		t.Fatalf("%d validated events, want one per item", n)
	}
}

// A batch sent through the webhook's POST / is decided item by item as the
// webhook's request: a rule for the bus does not take its items, and a rule
// for the webhook does.
func TestWebhookBatchKeepsItsCaller(t *testing.T) {
	s := newStack(t, apptest.WithEnv(webhookEnv(busOnlyPolicy+`  - name: signed-jobs
    match:
      source: "/batch/signed"
      caller: webhook
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
`)))
	// The bus rule's source, wrapped in a batch and sent to the webhook.
	code, resp := s.postWebhook(batchEvent("wrapped-1", []map[string]any{validData(), validData()}))
	if code != http.StatusBadRequest || len(resp.Results) != 2 {
		t.Fatalf("webhook batch for a bus rule: %d %+v, want 400 with 2 results", code, resp)
	}
	for i, r := range resp.Results {
		if r.State != store.Failed || r.Code != events.CodePolicyDenied {
			t.Errorf("item %d: %+v, want failed PolicyDenied", i, r)
		}
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for items no rule of the webhook allows", n)
	}
	// The webhook's own rule takes the items of its batch.
	var ev map[string]any
	_ = json.Unmarshal(batchEvent("signed-1", []map[string]any{validData()}), &ev)
	ev["source"] = "/batch/signed"
	b, _ := json.Marshal(ev)
	code, resp = s.postWebhook(b)
	if code != http.StatusAccepted || len(resp.Results) != 1 || resp.Results[0].State != store.Pending {
		t.Fatalf("webhook batch for a webhook rule: %d %+v, want 202 and the item pending", code, resp)
	}
}

// A dry-run batch that no delivery took further than its own record (the
// function stopped after recording it) is finished by the tick as it was
// asked: its items are dry runs, and nothing is created.
func TestTickFinishesADryRunBatchAsDryRun(t *testing.T) {
	s := newStack(t)
	raw, _ := json.Marshal(map[string]any{"Requests": []map[string]any{validData(), validData()}})
	now := s.Clock.Now()
	if _, _, err := s.App.Store.Insert(context.Background(), store.Request{
		Key: requestKey("/batch/nightly", "dry-orphan"), Source: "/batch/nightly", EventID: "dry-orphan",
		Params: raw, State: store.Batch, CreatedAt: now, UpdatedAt: now, DryRun: true,
	}, nil); err != nil {
		t.Fatal(err)
	}
	s.tick()
	if n, g := s.API.Calls("CreateVpnGateway"), len(s.API.Gateways()); n != 0 || g != 0 {
		t.Fatalf("the tick made %d CreateVpnGateway calls and %d gateways for a dry-run batch, want none", n, g)
	}
	if n := len(s.EventsOfType(events.TypeValidated)); n != 2 {
		t.Fatalf("%d validated events, want one per item", n)
	}
}

// A dry-run batch is complete once each item is answered: its summary
// counts the validated items and the failed one, once, and no later tick
// takes the batch up again.
func TestDryRunBatchCompletes(t *testing.T) {
	s := newStack(t)
	bad := validData()
	bad["Bandwidth"] = 7
	batch := withExtension(batchEvent("dry-batch-2", []map[string]any{validData(), bad, validData()}), intake.DryRunExtension, "true")
	if code, resp := s.postIntake(batch); code != http.StatusAccepted {
		t.Fatalf("intake: %d %+v", code, resp)
	}
	if rep := s.tick(); rep.Batches != 1 {
		t.Fatalf("tick: %+v, want the dry-run batch completed", rep)
	}
	sum := onlyEvent[events.BatchCompleted](t, s, events.TypeBatchCompleted)
	if sum.Total != 3 || sum.Validated != 2 || sum.Failed != 1 || sum.Active != 0 || len(sum.FailedItems) != 1 || sum.FailedItems[0].Index != 1 {
		t.Fatalf("summary %+v, want 3 items: 2 validated, 1 failed (index 1)", sum)
	}
	s.Clock.Advance(time.Hour)
	if rep := s.tick(); rep.Claimed != 0 || rep.Batches != 0 || len(s.EventsOfType(events.TypeBatchCompleted)) != 1 {
		t.Fatalf("tick after the summary: %+v, want nothing claimed and no second summary", rep)
	}
}
