package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

// testWebhookSecret signs the stack's POST / in these tests.
const testWebhookSecret = "0123456789abcdef0123456789abcdef"

// webhookEnv is newStackEnv's environment for a stack whose webhook POST /
// is on, under policy.
func webhookEnv(policy string) map[string]string {
	return map[string]string{"VPNGW_POLICY_INLINE": policy, "VPNGW_WEBHOOK_SECRET": testWebhookSecret}
}

// postIntake sends body to the stack's CloudEvents HTTP intake (the local
// stack's POST /), as the event bus's HTTP delivery does.
func (s *stack) postIntake(body []byte) (int, ProvisionResponse) {
	s.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentTypeOf(body))
	w := httptest.NewRecorder()
	s.app.HTTPHandler().ServeHTTP(w, r)
	var resp ProvisionResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		s.t.Fatalf("intake answered %d %s", w.Code, w.Body)
	}
	return w.Code, resp
}

// postWebhook sends body to the webhook's POST /, signed with the secret.
func (s *stack) postWebhook(body []byte) (int, webhook.Response) {
	s.t.Helper()
	if s.app.Webhook == nil {
		s.t.Fatal("the stack has no webhook: set VPNGW_WEBHOOK_SECRET")
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentTypeOf(body))
	ts, sig := webhook.Sign(testWebhookSecret, s.clock.Now(), body)
	r.Header.Set(webhook.HeaderTimestamp, ts)
	r.Header.Set(webhook.HeaderSignature, sig)
	w := httptest.NewRecorder()
	s.app.Webhook.ServeHTTP(w, r)
	var resp webhook.Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		s.t.Fatalf("webhook answered %d %s", w.Code, w.Body)
	}
	return w.Code, resp
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
	s := newStackEnv(t, webhookEnv(busOnlyPolicy))
	code, resp := s.postWebhook(requestEvent("claim-1", validData()))
	if code != http.StatusBadRequest || len(resp.Results) != 1 {
		t.Fatalf("webhook: %d %+v, want 400 with one result", code, resp)
	}
	if r := resp.Results[0]; r.State != store.Failed || r.Code != events.CodePolicyDenied {
		t.Fatalf("webhook request: %+v, want failed PolicyDenied", r)
	}
	if n := s.api.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for a request the policy does not allow from the webhook", n)
	}
	// The same source on the bus is allowed.
	if resp, err := s.provision(requestEvent("claim-2", validData())); err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("bus request: %+v %v, want pending", resp, err)
	}
}
