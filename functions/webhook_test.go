package functions_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/webhook"
)

const webhookSecret = "webhook-secret-for-the-fc-test-0123"

// httpTriggerEvent is what Function Compute 3.0 hands a go1 function behind
// an HTTP trigger.
func httpTriggerEvent(t *testing.T, body []byte, headers map[string]string) []byte {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString(body)
	h := map[string]string{"Content-Type": "application/cloudevents+json"}
	for k, v := range headers {
		h[k] = v
	}
	ev := map[string]any{
		"version": "v1", "rawPath": "/", "body": b64, "isBase64Encoded": true, "headers": h,
		"queryParameters": map[string]string{},
		"requestContext": map[string]any{"accountId": "123", "domainName": "x.fcapp.run", "requestId": "r-1",
			"time": "2026-11-25T10:00:00Z", "timeEpoch": "1795600000000",
			"http": map[string]string{"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "curl"}},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The webhook binary answers HTTP trigger invocations: a signed request is
// accepted (202) and creates a gateway; a bad, stale or replayed signature is
// refused (401) and creates nothing.
func TestWebhookBinaryThroughTheHTTPTrigger(t *testing.T) {
	p := newPlatform(t)
	p.env = append(p.env, "VPNGW_WEBHOOK_SECRET="+webhookSecret, "VPNGW_WEBHOOK_SECRET_SOURCES=*")
	fn := p.start(t, "webhook")
	body := requestedSample(t)
	webhookAuthScenario(t, body, webhookCall(t, fn, body), func() int { return len(p.api.Gateways()) })
}

// webhookAuthScenario sends body to a webhook binary through call, as a chat
// platform or a signing sender would: a tampered and a stale signature are
// answered 401 and create nothing, a signed request 202 and one gateway, the
// same signature again 401 (gateways counts what the emulator holds).
func webhookAuthScenario(t *testing.T, body []byte, call func(headers map[string]string) (int, string), gateways func() int) {
	t.Helper()
	sign := func(at time.Time) map[string]string {
		ts, sig := webhook.Sign(webhookSecret, at, body)
		return map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: sig}
	}
	bad := sign(time.Now())
	// Flip the signature's first hex digit: setting it to a constant left
	// the signature valid whenever it already began with that digit.
	good0 := bad[webhook.HeaderSignature]
	flipped := "0"
	if good0[3] == '0' {
		flipped = "1"
	}
	bad[webhook.HeaderSignature] = "v1=" + flipped + good0[4:]
	if status, answer := call(bad); status != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d %s, want 401", status, answer)
	}
	if status, answer := call(sign(time.Now().Add(-time.Hour))); status != http.StatusUnauthorized {
		t.Fatalf("stale signature: %d %s, want 401", status, answer)
	}
	if n := gateways(); n != 0 {
		t.Fatalf("refused requests created %d gateways", n)
	}
	good := sign(time.Now())
	if status, answer := call(good); status != http.StatusAccepted || !strings.Contains(answer, "vpn-") {
		t.Fatalf("signed request: %d %s, want 202 naming the gateway", status, answer)
	}
	if status, answer := call(good); status != http.StatusUnauthorized {
		t.Fatalf("replayed signature: %d %s, want 401", status, answer)
	}
	if n := gateways(); n != 1 {
		t.Fatalf("%d gateways, want 1", n)
	}
}
