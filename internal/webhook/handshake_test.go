package webhook_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/webhook"
)

// POST / answers the CloudEvents Webhook abuse-protection handshake (HTTP
// Webhook spec 1.0, section 4): an OPTIONS with WebHook-Request-Origin is
// consented to with 200, WebHook-Allowed-Origin naming the origin,
// WebHook-Allowed-Rate, and Allow listing POST. No secret is needed for it,
// and nothing is recorded.
func TestCloudEventsWebhookHandshake(t *testing.T) {
	f := newFixture(t, defaultConfig(), nil)
	handshake := func(hdr map[string]string) result {
		req := httptest.NewRequest(http.MethodOptions, "/", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return f.do(req)
	}

	res := handshake(map[string]string{"WebHook-Request-Origin": "eventemitter.example.com"})
	if res.status != http.StatusOK {
		t.Fatalf("handshake: HTTP %d %s, want 200", res.status, res.body)
	}
	if got := res.header.Get("WebHook-Allowed-Origin"); got != "eventemitter.example.com" {
		t.Errorf("WebHook-Allowed-Origin = %q, want the requested origin", got)
	}
	if got := res.header.Get("WebHook-Allowed-Rate"); got != "*" {
		t.Errorf("WebHook-Allowed-Rate = %q, want * (no rate set)", got)
	}
	if allow := res.header.Get("Allow"); !strings.Contains(allow, http.MethodPost) {
		t.Errorf("Allow = %q, want POST among the methods", allow)
	}

	// A rate asked for is granted (no limit applies here).
	res = handshake(map[string]string{"WebHook-Request-Origin": "a.example.com", "WebHook-Request-Rate": "120"})
	if res.status != http.StatusOK || res.header.Get("WebHook-Allowed-Rate") != "120" {
		t.Errorf("rate 120 asked: HTTP %d, WebHook-Allowed-Rate %q, want 200 and 120", res.status, res.header.Get("WebHook-Allowed-Rate"))
	}

	// An OPTIONS that is not a handshake gets Allow, and no consent.
	res = handshake(nil)
	if res.status != http.StatusOK || res.header.Get("WebHook-Allowed-Origin") != "" || !strings.Contains(res.header.Get("Allow"), http.MethodPost) {
		t.Errorf("plain OPTIONS: HTTP %d, headers %v; want 200 with Allow and no WebHook-Allowed-Origin", res.status, res.header)
	}

	// An origin that is not a host name is refused, not echoed.
	for _, bad := range []string{"evil.example.com\r\nSet-Cookie: x", "a b", strings.Repeat("a", 300), "http://x/y"} {
		res = handshake(map[string]string{"WebHook-Request-Origin": bad})
		if res.status != http.StatusBadRequest || res.header.Get("WebHook-Allowed-Origin") != "" {
			t.Errorf("origin %q: HTTP %d, WebHook-Allowed-Origin %q; want 400 without consent", bad, res.status, res.header.Get("WebHook-Allowed-Origin"))
		}
	}
	f.assertNothingRecorded(t)

	// With a rate limit, the handshake grants at most that rate.
	limited, err := webhook.New(defaultConfig(), &recorder{}, newGuard(time.Now), webhook.WithAllowedRate(60),
		webhook.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	for asked, want := range map[string]string{"": "60", "120": "60", "30": "30", "zero": "60"} {
		req := httptest.NewRequest(http.MethodOptions, "/", nil)
		req.Header.Set("WebHook-Request-Origin", "eventemitter.example.com")
		if asked != "" {
			req.Header.Set("WebHook-Request-Rate", asked)
		}
		w := httptest.NewRecorder()
		limited.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Header().Get("WebHook-Allowed-Rate") != want {
			t.Errorf("limit 60, asked %q: HTTP %d, WebHook-Allowed-Rate %q, want %s", asked, w.Code, w.Header().Get("WebHook-Allowed-Rate"), want)
		}
	}

	// Without VPNGW_WEBHOOK_SECRET, POST / takes nothing: no consent.
	chatOnly := newFixture(t, webhook.Config{SlackSigningSecret: testSlackSecret}, nil)
	req := httptest.NewRequest(http.MethodOptions, "/", nil)
	req.Header.Set("WebHook-Request-Origin", "eventemitter.example.com")
	if res := chatOnly.do(req); res.header.Get("WebHook-Allowed-Origin") != "" || res.status == http.StatusOK {
		t.Errorf("POST / off: HTTP %d, WebHook-Allowed-Origin %q; want no consent", res.status, res.header.Get("WebHook-Allowed-Origin"))
	}
}
