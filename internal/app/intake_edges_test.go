package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// intakeServer serves the stack's HTTP intake, as the local stack does.
func (s *stack) intakeServer() *httptest.Server {
	s.t.Helper()
	srv := httptest.NewServer(s.app.HTTPHandler())
	s.t.Cleanup(srv.Close)
	return srv
}

// postStructured sends body to the HTTP intake in structured mode and
// returns the status and the decoded answer.
func postStructured(t *testing.T, srv *httptest.Server, body []byte) (int, ProvisionResponse, string) {
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
	var out ProvisionResponse
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
