package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
)

// intakeServer serves the stack's HTTP intake, as the local stack does.
func (s *stack) intakeServer() *httptest.Server {
	s.t.Helper()
	srv := httptest.NewServer(s.App.HTTPHandler())
	s.t.Cleanup(srv.Close)
	return srv
}

// postStructured sends body to the HTTP intake in structured mode and
// returns the status and the decoded answer.
func postStructured(t *testing.T, srv *httptest.Server, body []byte) (int, app.ProvisionResponse, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/", "application/cloudevents+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	if _, err := raw.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	var out app.ProvisionResponse
	_ = json.Unmarshal(raw.Bytes(), &out)
	return resp.StatusCode, out, raw.String()
}

// eventFrom is a structured request event with the given source and id.
func eventFrom(source, id string, data map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": "io.vpngw.gateway.requested",
		"datacontenttype": "application/json", "data": data,
	})
	return b
}

// The HTTP intake, and the webhook's POST / beside it, answer the
// CloudEvents Webhook abuse-protection handshake with consent for the
// origin and the rate CreateVpnGateway is limited to (VPNGW_API_RATES).
func TestIntakeAnswersWebhookHandshake(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{
		"VPNGW_API_RATES":              "CreateVpnGateway=30/m,DescribeVpnGateways=0",
		"VPNGW_WEBHOOK_SECRET":         "a-webhook-secret-of-enough-length",
		"VPNGW_WEBHOOK_SECRET_SOURCES": "*",
		"VPNGW_WEBHOOK_MAX_SKEW":       "5m",
	}))
	srv := s.intakeServer()
	for _, path := range []string{"/", "/webhook/"} {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+path, nil)
		req.Header.Set("WebHook-Request-Origin", "eventemitter.example.com")
		req.Header.Set("WebHook-Request-Rate", "120")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("WebHook-Allowed-Origin") != "eventemitter.example.com" ||
			resp.Header.Get("WebHook-Allowed-Rate") != "30" || !strings.Contains(resp.Header.Get("Allow"), "POST") {
			t.Errorf("OPTIONS %s: HTTP %d, headers %v; want 200 with WebHook-Allowed-Origin, WebHook-Allowed-Rate 30 and Allow POST",
				path, resp.StatusCode, resp.Header)
		}
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("a handshake reached the API: %d calls", n)
	}
}
