package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/webhook"
)

// A secret with every character a separator-based format would trip on.
const oddSecret = `a,b:c|d"e\f g{h}[i]=j;k'l` + "0123456789"

func keysConfig() webhook.Config {
	return webhook.Config{Keys: []webhook.Key{
		{Name: "tickets", Secret: "tickets-secret-0123456789", Sources: []string{"/tickets/*"}},
		{Name: "ci", Secret: oddSecret, PreviousSecret: "ci-previous-secret-0123456789", Sources: []string{"https://ci.example.com/*", "regex:ci:[0-9]+"}},
	}}
}

// eventOf is sampleEvent with another id and source.
func eventOf(id, source string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(sampleEvent), &m)
	m["id"], m["source"] = id, source
	b, _ := json.Marshal(m)
	return string(b)
}

func signedWith(secret, body string, at time.Time) *http.Request {
	ts := unix(at)
	return genericRequest(body, "application/cloudevents+json", ts, genericSign(secret, ts, body))
}

// Each key signs for its own sources only, and hands its name on; a claim
// beyond them is refused with 403 and reaches nothing.
func TestNamedKeysBindSources(t *testing.T) {
	f := newFixture(t, keysConfig(), nil)

	r := f.do(signedWith("tickets-secret-0123456789", eventOf("e1", "https://ci.example.com/deploy"), f.now))
	if r.status != http.StatusForbidden {
		t.Fatalf("tickets key claiming a CI source: %d %s, want 403", r.status, r.body)
	}
	if msg := r.errorText(t); !strings.Contains(msg, `"tickets"`) || !strings.Contains(msg, "/tickets/*") || strings.Contains(msg, "secret-0123") {
		t.Errorf("refusal %q: want the key's name and its sources, and no secret", msg)
	}
	f.assertNothingRecorded(t)

	for _, tc := range []struct{ secret, source, key string }{
		{"tickets-secret-0123456789", "/tickets/netops", "tickets"},
		{oddSecret, "https://ci.example.com/deploy", "ci"},
		{oddSecret, "ci:42", "ci"},
		{"ci-previous-secret-0123456789", "ci:43", "ci"},
	} {
		r := f.do(signedWith(tc.secret, eventOf("ok-"+tc.source, tc.source), f.now))
		if r.status != http.StatusAccepted {
			t.Fatalf("%s with its own source %s: %d %s, want 202", tc.key, tc.source, r.status, r.body)
		}
		calls := f.p.inputs()
		in := calls[len(calls)-1][0]
		if in.Caller != webhook.CallerWebhook || in.Key != tc.key || !in.Origin.Zero() {
			t.Errorf("%s: input caller %q key %q origin %+v, want webhook, %q and no origin", tc.source, in.Caller, in.Key, tc.key, in.Origin)
		}
	}
}

// The legacy secret is a key without a name, bound to its own sources.
func TestLegacySecretIsBound(t *testing.T) {
	f := newFixture(t, webhook.Config{Secret: testSecret, SecretSources: []string{"/tickets/*"}}, nil)
	if r := f.do(signedGeneric(eventOf("l1", "https://ci.example.com/x"), f.now)); r.status != http.StatusForbidden ||
		!strings.Contains(r.errorText(t), "VPNGW_WEBHOOK_SECRET") {
		t.Fatalf("legacy secret beyond its sources: %d %s, want 403 naming VPNGW_WEBHOOK_SECRET", r.status, r.body)
	}
	if r := f.do(signedGeneric(eventOf("l2", "/tickets/a"), f.now)); r.status != http.StatusAccepted {
		t.Fatalf("legacy secret with its source: %d %s", r.status, r.body)
	}
}

// VPNGW_WEBHOOK_KEYS is checked at start-up, naming the variable and the
// entry, never echoing a secret.
func TestKeysValidation(t *testing.T) {
	good := `[{"name":"ci","secret":"` + strings.Repeat("s", 16) + `","sources":["https://ci.example.com/*"]}]`
	if keys, err := webhook.ParseKeys(good); err != nil || len(keys) != 1 || keys[0].Name != "ci" {
		t.Fatalf("ParseKeys(good) = %+v, %v", keys, err)
	}
	for _, tc := range []struct{ name, value, want string }{
		{"not JSON", `ci:secret:src`, "VPNGW_WEBHOOK_KEYS: not a JSON array"},
		{"unknown member", `[{"name":"ci","secret":"x","sources":["a"],"previous":"y"}]`, `unknown field "previous"`},
		{"short secret", `[{"name":"ci","secret":"shortsecret","sources":["a"]}]`, `VPNGW_WEBHOOK_KEYS entry 0 ("ci"): secret is 11 bytes`},
		{"no sources", `[{"name":"ci","secret":"0123456789abcdef0","sources":[]}]`, "sources is empty"},
		{"bad pattern", `[{"name":"ci","secret":"0123456789abcdef0","sources":["regex:("]}]`, "sources[0]"},
		{"bad name", `[{"name":"CI Bot","secret":"0123456789abcdef0","sources":["a"]}]`, `entry 0 ("CI Bot"): name`},
		{"twice", `[{"name":"ci","secret":"0123456789abcdef0","sources":["a"]},{"name":"ci","secret":"0123456789abcdef1","sources":["a"]}]`, "already used by entry 0"},
		{"shared secret", `[{"name":"a","secret":"0123456789abcdef0","sources":["a"]},{"name":"b","secret":"0123456789abcdef0","sources":["b"]}]`, `entry 1 ("b") secret is the same as VPNGW_WEBHOOK_KEYS entry 0 ("a") secret`},
	} {
		keys, err := webhook.ParseKeys(tc.value)
		if err == nil {
			err = webhook.Config{Keys: keys}.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "0123456789abcdef0") || strings.Contains(err.Error(), "shortsecret") {
			t.Errorf("%s: the error %q holds a secret", tc.name, err)
		}
	}
	if err := (webhook.Config{Secret: testSecret}).Validate(); err == nil || !strings.Contains(err.Error(), webhook.EnvSecretSources) {
		t.Errorf("legacy secret without sources: %v, want an error naming %s", err, webhook.EnvSecretSources)
	}
}

// countingHandler counts log records and keeps their attributes.
type countingHandler struct {
	records []map[string]string
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	h.records = append(h.records, m)
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// A flood of unsigned requests writes a bounded number of log lines, and
// the next line let through says how many were held back.
func TestRefusalsAreLoggedAtABoundedRate(t *testing.T) {
	logs := &countingHandler{}
	now := testNow
	h, err := webhook.New(defaultConfig(), &recorder{}, newGuard(func() time.Time { return now }),
		webhook.WithClock(func() time.Time { return now }), webhook.WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	const flood = 1000
	for i := 0; i < flood; i++ {
		w := &statusWriter{header: http.Header{}}
		h.ServeHTTP(w, genericRequest(sampleEvent, "application/cloudevents+json", "", ""))
		if w.status != http.StatusUnauthorized {
			t.Fatalf("unsigned request %d: %d, want 401", i, w.status)
		}
	}
	refused := 0
	for _, r := range logs.records {
		if r["msg"] == "webhook request refused" {
			refused++
		}
	}
	if refused == 0 || refused > 20 {
		t.Fatalf("%d refusal lines for %d unsigned requests, want a few (at most 20)", refused, flood)
	}
	now = now.Add(time.Minute)
	w := &statusWriter{header: http.Header{}}
	h.ServeHTTP(w, genericRequest(sampleEvent, "application/cloudevents+json", "", ""))
	last := logs.records[len(logs.records)-1]
	if last["msg"] != "webhook request refused" || last["suppressed"] == "" {
		t.Fatalf("the line after the flood: %v, want a refusal saying how many were suppressed", last)
	}
	if n := last["suppressed"]; n != strconv.Itoa(flood-refused) {
		t.Errorf("suppressed = %s, want %d", n, flood-refused)
	}
}

// statusWriter is a ResponseWriter that keeps only the status.
type statusWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *statusWriter) Header() http.Header         { return w.header }
func (w *statusWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *statusWriter) WriteHeader(s int)           { w.status = s }
