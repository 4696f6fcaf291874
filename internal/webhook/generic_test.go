package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

// TestGenericAuth: every way a POST / request can fail authentication
// answers 401, says why, and records nothing: the Provisioner is not called
// and the replay guard does not learn the request.
func TestGenericAuth(t *testing.T) {
	const ct = "application/cloudevents+json"
	body := sampleEvent
	ts := unix(testNow)
	good := genericSign(testSecret, ts, body)
	tests := []struct {
		name string
		req  func() *http.Request
		want string // in the error text
	}{
		{"bad signature", func() *http.Request {
			return genericRequest(body, ct, ts, "v1="+strings.Repeat("ab", 32))
		}, "does not match"},
		{"wrong secret", func() *http.Request {
			return genericRequest(body, ct, ts, genericSign("another-secret-of-enough-length", ts, body))
		}, "does not match"},
		{"body tampered after signing", func() *http.Request {
			return genericRequest(strings.Replace(body, `"Bandwidth":10`, `"Bandwidth":1000`, 1), ct, ts, good)
		}, "does not match"},
		{"timestamp changed after signing", func() *http.Request {
			return genericRequest(body, ct, unix(testNow.Add(time.Second)), good)
		}, "does not match"},
		{"stale by a second over the skew", func() *http.Request {
			old := unix(testNow.Add(-webhook.DefaultMaxSkew - time.Second))
			return genericRequest(body, ct, old, genericSign(testSecret, old, body))
		}, "old"},
		{"stale by a day", func() *http.Request {
			old := unix(testNow.Add(-24 * time.Hour))
			return genericRequest(body, ct, old, genericSign(testSecret, old, body))
		}, "old"},
		{"future by a second over the skew", func() *http.Request {
			f := unix(testNow.Add(webhook.DefaultMaxSkew + time.Second))
			return genericRequest(body, ct, f, genericSign(testSecret, f, body))
		}, "in the future"},
		{"missing timestamp", func() *http.Request { return genericRequest(body, ct, "", good) }, "missing " + webhook.HeaderTimestamp},
		{"missing signature", func() *http.Request { return genericRequest(body, ct, ts, "") }, "missing " + webhook.HeaderSignature},
		{"no headers at all", func() *http.Request { return genericRequest(body, ct, "", "") }, "missing"},
		{"timestamp in milliseconds", func() *http.Request {
			ms := unixMilli(testNow)
			return genericRequest(body, ct, ms, genericSign(testSecret, ms, body))
		}, "Unix time"},
		{"timestamp with a sign", func() *http.Request {
			return genericRequest(body, ct, "+"+ts, genericSign(testSecret, "+"+ts, body))
		}, "Unix time"},
		{"timestamp given twice", func() *http.Request {
			r := genericRequest(body, ct, ts, good)
			r.Header.Add(webhook.HeaderTimestamp, ts)
			return r
		}, "given 2 times"},
		{"signature without version", func() *http.Request {
			return genericRequest(body, ct, ts, strings.TrimPrefix(good, "v1="))
		}, "malformed"},
		{"signature not hex", func() *http.Request {
			return genericRequest(body, ct, ts, "v1="+strings.Repeat("zz", 32))
		}, "64 hex digits"},
		{"signature truncated", func() *http.Request { return genericRequest(body, ct, ts, good[:40]) }, "64 hex digits"},
		{"only an unknown version", func() *http.Request {
			return genericRequest(body, ct, ts, "v2="+strings.TrimPrefix(good, "v1="))
		}, "no v1 value"},
		{"too many signatures", func() *http.Request {
			bad := "v1=" + strings.Repeat("00", 32)
			return genericRequest(body, ct, ts, strings.Repeat(bad+",", 4)+good)
		}, "more than 4"},
		{"Slack's scheme on the generic route", func() *http.Request {
			r := genericRequest(body, ct, "", "")
			r.Header.Set("X-Slack-Request-Timestamp", ts)
			r.Header.Set("X-Slack-Signature", slackSign(testSecret, ts, body))
			return r
		}, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, defaultConfig(), nil)
			res := f.do(tc.req())
			if res.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", res.status, res.body)
			}
			if msg := res.errorText(t); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if res.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if strings.Contains(string(res.body), strings.TrimPrefix(good, "v1=")) {
				t.Error("the answer reveals the expected signature")
			}
			f.assertNothingRecorded(t)
			if n := f.guard.size(); n != 0 {
				t.Errorf("the replay guard learnt %d keys from a refused request", n)
			}
		})
	}
}

// TestGenericAccepts: what a correctly signed request may look like.
func TestGenericAccepts(t *testing.T) {
	const ct = "application/cloudevents+json"
	body := sampleEvent
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"now", func() *http.Request { return signedGeneric(body, testNow) }},
		{"at the edge of the skew, past", func() *http.Request { return signedGeneric(body, testNow.Add(-webhook.DefaultMaxSkew)) }},
		{"at the edge of the skew, future", func() *http.Request { return signedGeneric(body, testNow.Add(webhook.DefaultMaxSkew)) }},
		{"previous secret during a rotation", func() *http.Request {
			ts := unix(testNow)
			return genericRequest(body, ct, ts, genericSign(testPreviousSecret, ts, body))
		}},
		{"both secrets, comma-separated, with a newer version first", func() *http.Request {
			ts := unix(testNow)
			sig := "v2=whatever, " + genericSign(testPreviousSecret, ts, body) + ", " + genericSign(testSecret, ts, body)
			return genericRequest(body, ct, ts, sig)
		}},
		{"signature split over two header lines", func() *http.Request {
			ts := unix(testNow)
			r := genericRequest(body, ct, ts, "v1="+strings.Repeat("00", 32))
			r.Header.Add(webhook.HeaderSignature, genericSign(testSecret, ts, body))
			return r
		}},
		{"lower-case header names", func() *http.Request {
			ts := unix(testNow)
			r := genericRequest(body, "", "", "")
			r.Header["content-type"] = []string{ct}
			r.Header["x-vpngw-timestamp"] = []string{ts}
			r.Header["x-vpngw-signature"] = []string{genericSign(testSecret, ts, body)}
			return r
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, defaultConfig(), nil)
			req := tc.req()
			// net/http canonicalizes header names; a map built by hand (as
			// runtime.HTTPTrigger builds it) may not.
			for k, v := range req.Header {
				delete(req.Header, k)
				for _, x := range v {
					req.Header.Add(k, x)
				}
			}
			res := f.do(req)
			if res.status != http.StatusAccepted {
				t.Fatalf("status %d, want 202: %s", res.status, res.body)
			}
			calls := f.p.inputs()
			if len(calls) != 1 || len(calls[0]) != 1 {
				t.Fatalf("Provisioner calls = %+v, want one with one input", calls)
			}
		})
	}
}

// TestGenericReplay: the same signed request twice is refused the second
// time, also when re-signed with the other secret of a rotation, and
// accepted again once signed afresh.
func TestGenericReplay(t *testing.T) {
	f := newFixture(t, defaultConfig(), nil)
	if res := f.do(signedGeneric(sampleEvent, testNow)); res.status != http.StatusAccepted {
		t.Fatalf("first: status %d: %s", res.status, res.body)
	}
	res := f.do(signedGeneric(sampleEvent, testNow))
	if res.status != http.StatusUnauthorized || !strings.Contains(res.errorText(t), "replayed") {
		t.Fatalf("replay: status %d, %s; want 401 replayed", res.status, res.body)
	}
	ts := unix(testNow)
	rotated := genericRequest(sampleEvent, "application/cloudevents+json", ts, genericSign(testPreviousSecret, ts, sampleEvent))
	if res := f.do(rotated); res.status != http.StatusUnauthorized {
		t.Fatalf("replay under the previous secret: status %d, want 401", res.status)
	}
	if n := len(f.p.inputs()); n != 1 {
		t.Fatalf("the Provisioner was called %d times, want 1", n)
	}
	// A retry signed afresh is a new signature for the same request.
	f.now = f.now.Add(2 * time.Second)
	if res := f.do(signedGeneric(sampleEvent, f.now)); res.status != http.StatusAccepted {
		t.Fatalf("re-signed retry: status %d: %s", res.status, res.body)
	}
	calls := f.p.inputs()
	if len(calls) != 2 || calls[0][0].Identity != calls[1][0].Identity {
		t.Fatalf("the retry is not the same request: %+v", calls)
	}
}

// TestGenericReplayGuardDown: a guard that cannot answer makes the request
// neither trusted nor refused: 503 with Retry-After, nothing recorded.
func TestGenericReplayGuardDown(t *testing.T) {
	f := newFixture(t, defaultConfig(), nil)
	f.guard.err = errors.New("store: too many connections")
	res := f.do(signedGeneric(sampleEvent, testNow))
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", res.status, res.header.Get("Retry-After"))
	}
	if strings.Contains(string(res.body), "too many connections") {
		t.Error("the answer exposes the store's error")
	}
	f.assertNothingRecorded(t)
}

// TestGenericAnswers: the CloudEvents HTTP binding's statuses for
// authentic requests.
func TestGenericAnswers(t *testing.T) {
	failed := func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
		out := make([]provision.Result, len(in))
		for i, x := range in {
			out[i] = provision.Result{Source: x.Identity.Source, EventID: x.Identity.EventID, State: store.Failed, Code: events.CodeInvalidRequest,
				Errors: []events.FieldError{{Field: "Bandwidth", Message: "Bandwidth 7 is not offered"}, {Field: "VpcId", Message: "VpcId is required"}}}
		}
		return out, nil
	}
	throttled := func(wait time.Duration) func(context.Context, []provision.Input) ([]provision.Result, error) {
		return func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
			err := &cloud.Error{Action: "CreateVpnGateway", Kind: cloud.Throttled, Code: "Throttling.User", RetryAfter: wait}
			return []provision.Result{{State: store.Received, Retry: true}}, fmt.Errorf("%w: create gateway: %w", provision.ErrRetry, err)
		}
	}
	batch := `[` + sampleEvent + `,` + strings.Replace(sampleEvent, "ticket-4711", "ticket-4712", 1) + `]`
	tests := []struct {
		name        string
		answer      func(context.Context, []provision.Input) ([]provision.Result, error)
		req         func() *http.Request
		status      int
		retryAfter  string
		inputs      int // how many inputs the Provisioner saw; -1: not called
		errContains string
	}{
		{"structured, accepted", nil, func() *http.Request { return signedGeneric(sampleEvent, testNow) }, 202, "", 1, ""},
		{"batch, accepted", nil, func() *http.Request {
			ts := unix(testNow)
			return genericRequest(batch, "application/cloudevents-batch+json", ts, genericSign(testSecret, ts, batch))
		}, 202, "", 2, ""},
		{"binary, accepted", nil, func() *http.Request {
			data := `{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1x","Bandwidth":10}`
			ts := unix(testNow)
			r := genericRequest(data, "application/json", ts, genericSign(testSecret, ts, data))
			r.Header.Set("ce-specversion", "1.0")
			r.Header.Set("ce-id", "b-1")
			r.Header.Set("ce-source", "/binary")
			r.Header.Set("ce-type", events.TypeRequested)
			return r
		}, 202, "", 1, ""},
		{"every request invalid", failed, func() *http.Request { return signedGeneric(sampleEvent, testNow) }, 400, "", 1, ""},
		{"not CloudEvents JSON", nil, func() *http.Request { return signedGeneric(`{"specversion":`, testNow) }, 400, "", -1, "JSON"},
		{"unsupported content type", nil, func() *http.Request {
			ts := unix(testNow)
			return genericRequest("hello", "text/plain", ts, genericSign(testSecret, ts, "hello"))
		}, 415, "", -1, "text/plain"},
		{"compressed", nil, func() *http.Request {
			r := signedGeneric(sampleEvent, testNow)
			r.Header.Set("Content-Encoding", "gzip")
			return r
		}, 415, "", -1, "gzip"},
		{"API throttled with a wait", throttled(2500 * time.Millisecond), func() *http.Request { return signedGeneric(sampleEvent, testNow) }, 429, "3", 1, ""},
		{"API throttled without a wait", throttled(0), func() *http.Request { return signedGeneric(sampleEvent, testNow) }, 429, "10", 1, ""},
		{"store down", func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
			return []provision.Result{{Retry: true}}, fmt.Errorf("%w: record request: connection refused", provision.ErrRetry)
		}, func() *http.Request { return signedGeneric(sampleEvent, testNow) }, 503, "10", 1, ""},
		{"API failing", func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
			err := &cloud.Error{Action: "CreateVpnGateway", Kind: cloud.Transient, Code: "ServiceUnavailable"}
			return []provision.Result{{State: store.Received, Retry: true}}, fmt.Errorf("%w: %w", provision.ErrRetry, err)
		}, func() *http.Request { return signedGeneric(sampleEvent, testNow) }, 503, "10", 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, defaultConfig(), &recorder{answer: tc.answer})
			res := f.do(tc.req())
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if got := res.header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			calls := f.p.inputs()
			switch {
			case tc.inputs < 0 && len(calls) != 0:
				t.Fatalf("the Provisioner was called: %+v", calls)
			case tc.inputs >= 0 && (len(calls) != 1 || len(calls[0]) != tc.inputs):
				t.Fatalf("Provisioner calls %+v, want one with %d inputs", calls, tc.inputs)
			}
			if tc.errContains != "" && !strings.Contains(res.errorText(t), tc.errContains) {
				t.Errorf("error %q does not mention %q", res.errorText(t), tc.errContains)
			}
			if tc.inputs > 0 {
				var body webhook.Response
				if err := json.Unmarshal(res.body, &body); err != nil {
					t.Fatal(err)
				}
				for _, in := range calls[0] {
					if in.Caller != webhook.CallerWebhook || in.ChatUser != "" || in.Type != events.TypeRequested {
						t.Errorf("input %+v: want Caller %q, no chat user, type requested", in, webhook.CallerWebhook)
					}
				}
				if tc.status == 202 || tc.status == 400 {
					if len(body.Results) != tc.inputs {
						t.Fatalf("answer names %d requests, want %d: %s", len(body.Results), tc.inputs, res.body)
					}
					if body.Results[0].EventID != calls[0][0].Identity.EventID || body.Results[0].State == "" {
						t.Errorf("answer %+v does not name the request and its state", body.Results[0])
					}
				}
				if tc.status == 400 && len(body.Results[0].Errors) != 2 {
					t.Errorf("400 lists %d validation errors, want both", len(body.Results[0].Errors))
				}
			}
		})
	}
}

// TestBodyLimit: an oversized body is refused with 413 before anything
// else, whether it says its length or not.
func TestBodyLimit(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxBody = 64
	big := `{"specversion":"1.0","id":"x","source":"/s","type":"t","data":{"pad":"` + strings.Repeat("x", 100) + `"}}`
	for _, route := range []string{"/", "/slack", "/dingtalk"} {
		t.Run(route+" with Content-Length", func(t *testing.T) {
			f := newFixture(t, cfg, nil)
			req := httptest.NewRequest(http.MethodPost, route, strings.NewReader(big))
			if res := f.do(req); res.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", res.status)
			}
			f.assertNothingRecorded(t)
		})
		t.Run(route+" streamed", func(t *testing.T) {
			f := newFixture(t, cfg, nil)
			req := httptest.NewRequest(http.MethodPost, route, iotest.OneByteReader(strings.NewReader(big)))
			req.ContentLength = -1
			if res := f.do(req); res.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", res.status)
			}
			f.assertNothingRecorded(t)
		})
	}
	t.Run("exactly at the limit is read", func(t *testing.T) {
		f := newFixture(t, cfg, nil)
		body := strings.Repeat("x", 64)
		res := f.do(genericRequest(body, "text/plain", unix(testNow), genericSign(testSecret, unix(testNow), body)))
		if res.status != http.StatusUnsupportedMediaType {
			t.Fatalf("status %d, want 415 (authentic, but not CloudEvents)", res.status)
		}
	})
}

// TestRoutesOff: a route whose secret is not set is not there; the answer,
// which anyone may get, does not say what turns it on (the log does);
// methods other than POST are refused.
func TestRoutesOff(t *testing.T) {
	tests := []struct {
		cfg      webhook.Config
		route    string
		variable string
	}{
		{webhook.Config{SlackSigningSecret: testSlackSecret}, "/", "VPNGW_WEBHOOK_KEYS"},
		{webhook.Config{Secret: testSecret, SecretSources: anySource}, "/slack", "VPNGW_SLACK_SIGNING_SECRET"},
		{webhook.Config{Secret: testSecret, SecretSources: anySource}, "/dingtalk", "VPNGW_DINGTALK_APP_SECRET"},
	}
	for _, tc := range tests {
		t.Run(tc.route, func(t *testing.T) {
			f := newFixture(t, tc.cfg, nil)
			req := signedGeneric(sampleEvent, testNow)
			if tc.route != "/" {
				req = httptest.NewRequest(http.MethodPost, tc.route, strings.NewReader("x"))
			}
			res := f.do(req)
			if res.status != http.StatusNotFound {
				t.Fatalf("status %d, %s; want 404", res.status, res.body)
			}
			for _, leak := range []string{tc.variable, "VPNGW_", "SECRET", "enable"} {
				if strings.Contains(string(res.body), leak) {
					t.Errorf("the 404 of an unauthenticated request names %q: %s", leak, res.body)
				}
			}
			f.assertNothingRecorded(t)
		})
	}
	f := newFixture(t, defaultConfig(), nil)
	if res := f.do(httptest.NewRequest(http.MethodGet, "/", nil)); res.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /: status %d, want 405", res.status)
	}
	if res := f.do(httptest.NewRequest(http.MethodPost, "/elsewhere", nil)); res.status != http.StatusNotFound {
		t.Errorf("POST /elsewhere: status %d, want 404", res.status)
	}
}

func TestNewRefuses(t *testing.T) {
	p, g := &recorder{}, newGuard(time.Now)
	tests := []struct {
		name string
		cfg  webhook.Config
		p    webhook.Provisioner
		g    webhook.ReplayGuard
		want string
	}{
		{"no secret", webhook.Config{}, p, g, "VPNGW_SLACK_SIGNING_SECRET"},
		{"short secret", webhook.Config{Secret: "short", SecretSources: anySource}, p, g, "VPNGW_WEBHOOK_SECRET is 5 bytes"},
		{"short previous secret", webhook.Config{Secret: testSecret, SecretSources: anySource, PreviousSecret: "old"}, p, g, "VPNGW_WEBHOOK_SECRET_PREVIOUS is 3 bytes"},
		{"previous without current", webhook.Config{SlackSigningSecret: testSlackSecret, PreviousSecret: testPreviousSecret}, p, g, "VPNGW_WEBHOOK_SECRET_PREVIOUS"},
		{"short Slack signing secret", webhook.Config{SlackSigningSecret: "x"}, p, g, "VPNGW_SLACK_SIGNING_SECRET is 1 bytes"},
		{"short DingTalk AppSecret", webhook.Config{DingTalkAppSecret: "1"}, p, g, "VPNGW_DINGTALK_APP_SECRET is 1 bytes"},
		{"15-byte Slack signing secret beside a good secret", webhook.Config{Secret: testSecret, SecretSources: anySource, SlackSigningSecret: "0123456789abcde"}, p, g, "VPNGW_SLACK_SIGNING_SECRET is 15 bytes"},
		{"skew over an hour", webhook.Config{Secret: testSecret, SecretSources: anySource, MaxSkew: 2 * time.Hour}, p, g, "VPNGW_WEBHOOK_MAX_SKEW"},
		{"negative skew", webhook.Config{Secret: testSecret, SecretSources: anySource, MaxSkew: -time.Second}, p, g, "VPNGW_WEBHOOK_MAX_SKEW"},
		{"no provisioner", webhook.Config{Secret: testSecret, SecretSources: anySource}, nil, g, "provisioner"},
		{"no guard", webhook.Config{Secret: testSecret, SecretSources: anySource}, p, nil, "replay guard"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhook.New(tc.cfg, tc.p, tc.g)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestSignMatchesScheme: the helper senders may use computes the documented
// scheme.
func TestSignMatchesScheme(t *testing.T) {
	body := []byte(sampleEvent)
	ts, sig := webhook.Sign(testSecret, testNow, body)
	if ts != unix(testNow) || sig != genericSign(testSecret, ts, string(body)) {
		t.Fatalf("Sign = %s, %s", ts, sig)
	}
	f := newFixture(t, defaultConfig(), nil)
	if res := f.do(genericRequest(sampleEvent, "application/cloudevents+json", ts, sig)); res.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
}

// TestConfigHidesSecrets: however a Config is printed or logged, no secret
// shows.
func TestConfigHidesSecrets(t *testing.T) {
	c := defaultConfig()
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "webhook", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logged.String()} {
		for _, secret := range []string{testSecret, testPreviousSecret, testSlackSecret, testDingTalkSecret} {
			if strings.Contains(s, secret) {
				t.Fatalf("%q shows a secret", s)
			}
		}
		if !strings.Contains(s, "POST /slack") {
			t.Errorf("%q does not name the enabled routes", s)
		}
	}
}
