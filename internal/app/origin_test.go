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

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

// originPolicy lets the platform team's source create gateways only from
// what the platform vouches for: its own bus on Alibaba Cloud, its own
// account on AWS; and two webhook senders, each with its own key.
const originPolicy = `version: 1
rules:
  - name: platform-bus
    match: {source: "https://ci.example.com/platform", bus: vpngw-ci}
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
  - name: platform-aws
    match: {source: "https://ci.example.com/platform", account: "123456789012"}
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
  - name: tickets-key
    match: {source: "https://tickets.example.com/*", caller: webhook, key: tickets}
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
  - name: ci-key
    match: {source: "https://ci.example.com/hooks", caller: webhook, key: ci}
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
`

// Two named webhook keys, each bound to its own sources.
const (
	ticketsKeySecret = "tickets-secret-0123456789abcdef"
	ciKeySecret      = "ci-secret-0123456789abcdef-with,|:\"all"
)

func originEnv(t *testing.T) map[string]string {
	t.Helper()
	keys, err := json.Marshal([]webhook.Key{
		{Name: "tickets", Secret: ticketsKeySecret, Sources: []string{"https://tickets.example.com/*"}},
		{Name: "ci", Secret: ciKeySecret, Sources: []string{"https://ci.example.com/hooks"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"VPNGW_POLICY_INLINE": originPolicy, "VPNGW_WEBHOOK_KEYS": string(keys)}
}

// eventOnBus is requestEvent with another source, and with the bus
// attribute EventBridge stamps set to bus ("" leaves it out).
func eventOnBus(id, source, bus string) []byte {
	var m map[string]any
	_ = json.Unmarshal(requestEvent(id, validData()), &m)
	m["source"] = source
	delete(m, intake.BusExtension)
	if bus != "" {
		m[intake.BusExtension] = bus
	}
	b, _ := json.Marshal(m)
	return b
}

// awsEvent is an Amazon EventBridge event as a rule hands it to Lambda,
// put by account.
func awsEvent(id, source, account string) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": events.TypeRequested, "source": source,
		"account": account, "time": "2026-11-25T10:00:00Z", "region": "eu-west-1", "resources": []string{},
		"detail": validData(),
	})
	return b
}

// signed returns r, whose body is body, with body's content type and the
// webhook's signature of it under secret at the stack's clock.
func (s *stack) signed(r *http.Request, secret string, body []byte) *http.Request {
	r.Header.Set("Content-Type", contentTypeOf(body))
	ts, sig := webhook.Sign(secret, s.Clock.Now(), body)
	r.Header.Set(webhook.HeaderTimestamp, ts)
	r.Header.Set(webhook.HeaderSignature, sig)
	return r
}

// postWebhookKey sends body to the webhook's POST /, signed with secret.
func (s *stack) postWebhookKey(secret string, body []byte) (int, webhook.Response) {
	s.t.Helper()
	if s.App.Webhook == nil {
		s.t.Fatal("the stack has no webhook: set VPNGW_WEBHOOK_SECRET")
	}
	r := s.signed(httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)), secret, body)
	w := httptest.NewRecorder()
	s.App.Webhook.ServeHTTP(w, r)
	var resp webhook.Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		s.t.Fatalf("webhook answered %d %s", w.Code, w.Body)
	}
	return w.Code, resp
}

// A rule bound to the bus vpngw-ci takes the platform's source from that
// bus only: the same source put on another bus (which anyone with the
// managed PutEvents policy may do), sent through the plain HTTP intake
// with the bus attribute written by the sender, or sent without one,
// matches no rule and creates nothing.
func TestBusBoundRuleTakesOnlyItsBus(t *testing.T) {
	s := newStack(t, apptest.WithEnv(originEnv(t)))
	const src = "https://ci.example.com/platform"

	resp, err := s.provision(eventOnBus("other-bus", src, "vpngw-tickets"))
	if err != nil || resp.Results[0].State != store.Failed || resp.Results[0].Code != events.CodePolicyDenied {
		t.Fatalf("event from bus vpngw-tickets: %+v %v, want failed PolicyDenied", resp, err)
	}
	if !strings.Contains(resp.Results[0].Message, `bus "vpngw-tickets"`) {
		t.Errorf("denial %q does not name the bus the event came from", resp.Results[0].Message)
	}
	if resp, err := s.provision(eventOnBus("no-bus", src, "")); err != nil || resp.Results[0].Code != events.CodePolicyDenied {
		t.Fatalf("event without a bus: %+v %v, want PolicyDenied", resp, err)
	}
	code, hresp := s.postIntake(eventOnBus("http-claims-bus", src, "vpngw-ci"))
	if code != http.StatusBadRequest || hresp.Results[0].Code != events.CodePolicyDenied {
		t.Fatalf("HTTP intake claiming the bus: %d %+v, want 400 PolicyDenied", code, hresp)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for events not from the platform's bus", n)
	}

	resp, err = s.provision(eventOnBus("own-bus", src, "vpngw-ci"))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("event from bus vpngw-ci: %+v %v, want pending", resp, err)
	}
	rec, err := s.App.Store.Get(context.Background(), requestKey(src, "own-bus"))
	if err != nil || !strings.Contains(rec.Origin, `"bus":"vpngw-ci"`) {
		t.Fatalf("record %+v %v, want the bus recorded with the request", rec, err)
	}
}

// On AWS the account EventBridge stamps binds the rule: the platform's
// source put by another account is denied, by its own account allowed.
func TestAccountBoundRuleTakesOnlyItsAccount(t *testing.T) {
	s := newStack(t, apptest.WithEnv(originEnv(t)))
	const src = "https://ci.example.com/platform"
	resp, err := s.provision(awsEvent("aws-other", src, "999999999999"))
	if err != nil || resp.Results[0].Code != events.CodePolicyDenied {
		t.Fatalf("event put by account 999999999999: %+v %v, want PolicyDenied", resp, err)
	}
	if !strings.Contains(resp.Results[0].Message, `account "999999999999"`) {
		t.Errorf("denial %q does not name the account", resp.Results[0].Message)
	}
	// A CloudEvent that writes the account as an extension claims it; the
	// platform did not stamp it.
	claimed := withExtension(eventOnBus("aws-claimed", src, ""), intake.AWSAccountExtension, "123456789012")
	if resp, err := s.provision(claimed); err != nil || resp.Results[0].Code != events.CodePolicyDenied {
		t.Fatalf("CloudEvent claiming the account: %+v %v, want PolicyDenied", resp, err)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for events the account did not put", n)
	}
	if resp, err := s.provision(awsEvent("aws-own", src, "123456789012")); err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("event put by account 123456789012: %+v %v, want pending", resp, err)
	}
}

// Two webhook senders with their own keys: the tickets key cannot claim
// the CI key's source (403, nothing recorded or created), and each key's
// name reaches the policy, so the CI key's request is decided by the rule
// written for that key.
func TestWebhookKeyCannotClaimAnotherKeysSource(t *testing.T) {
	s := newStack(t, apptest.WithEnv(originEnv(t)))
	ctx := context.Background()

	code, resp := s.postWebhookKey(ticketsKeySecret, eventOnBus("stolen", "https://ci.example.com/hooks", ""))
	if code != http.StatusForbidden || !strings.Contains(resp.Error, `"tickets"`) || !strings.Contains(resp.Error, "https://ci.example.com/hooks") {
		t.Fatalf("tickets key claiming the CI source: %d %+v, want 403 naming the key and the source", code, resp)
	}
	if _, err := s.App.Store.Get(ctx, requestKey("https://ci.example.com/hooks", "stolen")); err == nil {
		t.Fatal("the refused claim was recorded: it would take the CI sender's request id")
	}
	// A batch with one foreign source is refused whole.
	batch := []byte("[" + string(eventOnBus("b-1", "https://tickets.example.com/q1", "")) + "," +
		string(eventOnBus("b-2", "https://ci.example.com/hooks", "")) + "]")
	if code, resp := s.postWebhookKey(ticketsKeySecret, batch); code != http.StatusForbidden {
		t.Fatalf("batch with a foreign source: %d %+v, want 403", code, resp)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for refused claims", n)
	}

	code, resp = s.postWebhookKey(ciKeySecret, eventOnBus("ci-own", "https://ci.example.com/hooks", ""))
	if code != http.StatusAccepted || resp.Results[0].State != store.Pending {
		t.Fatalf("CI key with its own source: %d %+v, want 202 pending", code, resp)
	}
	code, resp = s.postWebhookKey(ticketsKeySecret, eventOnBus("t-own", "https://tickets.example.com/q1", ""))
	if code != http.StatusAccepted || resp.Results[0].State != store.Pending {
		t.Fatalf("tickets key with its own source: %d %+v, want 202 pending", code, resp)
	}
	rec, err := s.App.Store.Get(ctx, requestKey("https://ci.example.com/hooks", "ci-own"))
	if err != nil || !strings.Contains(rec.Origin, `"key":"ci"`) {
		t.Fatalf("record %+v %v, want the key's name recorded", rec, err)
	}
}

// A bus-bound request left received is re-driven as the requester it was
// recorded as, bus included: the tick creates it rather than deny it for
// a bus it no longer knows.
func TestRedriveKeepsTheBus(t *testing.T) {
	s := newStack(t, apptest.WithEnv(originEnv(t)))
	s.recordOnly(eventOnBus("late-ci", "https://ci.example.com/platform", "vpngw-ci"))
	s.Clock.Advance(3 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := s.App.Reconcile.Tick(ctx, reconcile.Options{})
	if err != nil || rep.Redriven != 1 {
		t.Fatalf("tick: %+v %v, want one re-drive", rep, err)
	}
	rec, err := s.App.Store.Get(ctx, requestKey("https://ci.example.com/platform", "late-ci"))
	if err != nil || rec.State != store.Pending {
		t.Fatalf("after the re-drive: %+v %v, want pending", rec, err)
	}
}
