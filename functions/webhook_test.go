package functions_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/events"

	vpngwevents "github.com/vpngw/vpngw/events"
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
	p.env = append(p.env, "VPNGW_WEBHOOK_SECRET="+webhookSecret)
	fn := p.start(t, "webhook")
	body, err := vpngwevents.Samples.ReadFile("testdata/requested.json")
	if err != nil {
		t.Fatal(err)
	}
	call := func(headers map[string]string) events.HTTPTriggerResponse {
		t.Helper()
		res := fn.invoke(t, httpTriggerEvent(t, body, headers))
		if res.Error != nil {
			t.Fatalf("webhook answered an invocation error: %+v", res.Error)
		}
		var out events.HTTPTriggerResponse
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatalf("answer %s: %v", res.Payload, err)
		}
		return out
	}
	sign := func(at time.Time) map[string]string {
		ts, sig := webhook.Sign(webhookSecret, at, body)
		return map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: sig}
	}
	bad := sign(time.Now())
	bad[webhook.HeaderSignature] = "v1=" + "00" + bad[webhook.HeaderSignature][5:]
	if r := call(bad); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d, want 401", r.StatusCode)
	}
	if r := call(sign(time.Now().Add(-time.Hour))); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stale signature: %d, want 401", r.StatusCode)
	}
	if n := len(p.api.Gateways()); n != 0 {
		t.Fatalf("refused requests created %d gateways", n)
	}
	good := sign(time.Now())
	if r := call(good); r.StatusCode != http.StatusAccepted {
		t.Fatalf("signed request: %d %s, want 202", r.StatusCode, r.Body)
	}
	if r := call(good); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed signature: %d, want 401", r.StatusCode)
	}
	if n := len(p.api.Gateways()); n != 1 {
		t.Fatalf("%d gateways, want 1", n)
	}
}
