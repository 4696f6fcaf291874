package app_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/internal/vpcsim"
)

// The local /webhook/ routes have the webhook function's deadline: a
// request the API keeps throttling is answered 429 or 503 with Retry-After,
// as the function answers at its deadline, instead of being retried for
// minutes (402 s seen).
func TestLocalWebhookRouteHasTheFunctionsDeadline(t *testing.T) {
	defer func(d time.Duration) { app.LocalWebhookTimeout = d }(app.LocalWebhookTimeout)
	app.LocalWebhookTimeout = 3 * time.Second
	s := newStack(t, apptest.WithEnv(webhookEnv(app.LocalPolicy)))
	if err := s.API.SetFaults(vpcsim.Faults{ThrottleRate: 1}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.App.HTTPHandler())
	defer srv.Close()
	body := requestEvent("deadline-1", validData())
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook/", bytes.NewReader(body))
	req = s.signed(req, testWebhookSecret, body)
	// Far past the deadline: a request without one is still retrying then.
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	// 429 when the API's throttling was the last word, 503 when the
	// deadline left no room to call: the webhook function's answers.
	if (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("answered %d Retry-After %q, want 429 or 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
