package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/runtime"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

func TestHTTPAnswersFollowTheBinding(t *testing.T) {
	s := newStack(t)
	srv := httptest.NewServer(s.App.HTTPHandler())
	defer srv.Close()
	post := func(ct string, body []byte, hdr map[string]string) (*http.Response, map[string]any) {
		return postHTTP(t, srv.URL+"/", ct, body, hdr)
	}
	// Structured mode: 202 naming the request and its state.
	resp, out := post("application/cloudevents+json", requestEvent("http-1", validData()), nil)
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(mustJSON(out), `"State":"pending"`) || !strings.Contains(mustJSON(out), `"Id":"http-1"`) {
		t.Fatalf("structured: %d %v", resp.StatusCode, out)
	}
	// Binary mode, with a header sdk-go would choke on.
	data, _ := json.Marshal(validData())
	resp, out = post("application/json", data, map[string]string{
		"ce-specversion": "1.0", "ce-id": "http-2", "ce-source": "/chat", "ce-type": "io.vpngw.gateway.requested",
		"Ce-Fc-Code-Checksum": "123",
	})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("binary: %d %v", resp.StatusCode, out)
	}
	// Batch mode: two events, each its own outcome.
	batch := "[" + string(requestEvent("http-3", validData())) + "," + string(requestEvent("http-4", validData())) + "]"
	resp, out = post("application/cloudevents-batch+json", []byte(batch), nil)
	if resp.StatusCode != http.StatusAccepted || len(out["results"].([]any)) != 2 {
		t.Fatalf("batch: %d %v", resp.StatusCode, out)
	}
	// Every validation error: 400 with all of them.
	bad := validData()
	bad["Bandwidth"] = 3
	bad["NetworkType"] = "dark"
	resp, out = post("application/cloudevents+json", requestEvent("http-5", bad), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(mustJSON(out), "Bandwidth") || !strings.Contains(mustJSON(out), "NetworkType") {
		t.Fatalf("invalid: %d %v", resp.StatusCode, out)
	}
	// Unsupported media type and oversized bodies.
	if resp, _ := post("text/plain", []byte("hello"), nil); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: %d, want 415", resp.StatusCode)
	}
	if resp, _ := post("application/cloudevents+json", bytes.Repeat([]byte(" "), runtime.MaxHTTPBody+1), nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized: %d, want 413", resp.StatusCode)
	}
	// The API down: 503 with Retry-After.
	if err := s.API.SetFaults(vpcsim.Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	resp, _ = post("application/cloudevents+json", requestEvent("http-6", validData()), nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("API down: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// postHTTP posts body to url as ct, with the headers hdr, and returns the
// answer (its body read and closed) and the body decoded as JSON.
func postHTTP(t *testing.T, url, ct string, body []byte, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
