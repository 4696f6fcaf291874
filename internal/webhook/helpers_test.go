package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

// Secrets of the tests. The generic ones are long enough for New.
const (
	testSecret         = "test-webhook-secret-0123456789abcdef"
	testPreviousSecret = "old-webhook-secret-fedcba9876543210"
	testSlackSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	testDingTalkSecret = "SECdingtalk-robot-app-secret-for-tests"
)

// testNow is the clock of every test unless it says otherwise.
var testNow = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// anySource binds the legacy secret to every source, as the tests of what
// does not depend on the binding need.
var anySource = []string{"*"}

// recorder is a Provisioner that records every call and answers with
// answer (every input accepted as pending when answer is nil).
type recorder struct {
	mu     sync.Mutex
	calls  [][]provision.Input
	ctxs   []context.Context
	answer func(ctx context.Context, in []provision.Input) ([]provision.Result, error)
}

func (r *recorder) HandleAll(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
	r.mu.Lock()
	r.calls = append(r.calls, in)
	r.ctxs = append(r.ctxs, ctx)
	r.mu.Unlock()
	if r.answer != nil {
		return r.answer(ctx, in)
	}
	out := make([]provision.Result, len(in))
	for i, x := range in {
		out[i] = provision.Result{Source: x.Identity.Source, EventID: x.Identity.EventID, Key: x.Identity.Key(),
			State: store.Pending, VpnGatewayId: "vpn-bp1test" + strconv.Itoa(i)}
	}
	return out, nil
}

func (r *recorder) inputs() [][]provision.Input {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]provision.Input(nil), r.calls...)
}

// memGuard is an in-memory ReplayGuard on the test's clock.
type memGuard struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]time.Time
	err  error
}

func newGuard(now func() time.Time) *memGuard {
	return &memGuard{now: now, keys: map[string]time.Time{}}
}

func (g *memGuard) FirstUse(_ context.Context, key string, until time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return false, g.err
	}
	if exp, ok := g.keys[key]; ok && g.now().Before(exp) {
		return false, nil
	}
	g.keys[key] = until
	return true, nil
}

func (g *memGuard) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.keys)
}

// fixture is a handler with its fakes.
type fixture struct {
	h     http.Handler
	p     *recorder
	guard *memGuard
	now   time.Time
}

func defaultConfig() webhook.Config {
	return webhook.Config{
		Secret: testSecret, SecretSources: anySource, PreviousSecret: testPreviousSecret,
		SlackSigningSecret: testSlackSecret, DingTalkAppSecret: testDingTalkSecret,
	}
}

func newFixture(t *testing.T, cfg webhook.Config, p *recorder) *fixture {
	t.Helper()
	if p == nil {
		p = &recorder{}
	}
	f := &fixture{p: p, now: testNow}
	f.guard = newGuard(func() time.Time { return f.now })
	h, err := webhook.New(cfg, p, f.guard,
		webhook.WithClock(func() time.Time { return f.now }),
		webhook.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.h = h
	return f
}

// result is an answer of the handler.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (r result) errorText(t *testing.T) string {
	t.Helper()
	s, _ := r.json(t)["error"].(string)
	return s
}

func (f *fixture) do(req *http.Request) result {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return result{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// assertNothingRecorded: the Provisioner was never called.
func (f *fixture) assertNothingRecorded(t *testing.T) {
	t.Helper()
	if calls := f.p.inputs(); len(calls) != 0 {
		t.Fatalf("the Provisioner was called %d times, want none: %+v", len(calls), calls)
	}
}

// The signing schemes, written out here from their documentation rather
// than taken from the package, so that the tests check the schemes and not
// the package against itself.

func hmacSHA256(key, msg string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// genericSign: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
func genericSign(secret, ts, body string) string {
	return "v1=" + hex.EncodeToString(hmacSHA256(secret, ts+"."+body))
}

// slackSign: v0=<hex HMAC-SHA256(signing secret, "v0:" + ts + ":" + body)>.
func slackSign(secret, ts, body string) string {
	return "v0=" + hex.EncodeToString(hmacSHA256(secret, "v0:"+ts+":"+body))
}

// dingTalkSign: base64(HMAC-SHA256(appSecret, timestamp + "\n" + appSecret)).
func dingTalkSign(secret, ts string) string {
	return base64.StdEncoding.EncodeToString(hmacSHA256(secret, ts+"\n"+secret))
}

func unix(t time.Time) string      { return strconv.FormatInt(t.Unix(), 10) }
func unixMilli(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// genericRequest is a POST / request signed with secret at ts.
func genericRequest(body, contentType, ts, sig string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if ts != "" {
		req.Header.Set(webhook.HeaderTimestamp, ts)
	}
	if sig != "" {
		req.Header.Set(webhook.HeaderSignature, sig)
	}
	return req
}

func signedGeneric(body string, at time.Time) *http.Request {
	ts := unix(at)
	return genericRequest(body, "application/cloudevents+json", ts, genericSign(testSecret, ts, body))
}

const sampleEvent = `{"specversion":"1.0","id":"ticket-4711","source":"/tickets/netops","type":"io.vpngw.gateway.requested",
"datacontenttype":"application/json","data":{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1vpngwdemo0000001","Bandwidth":10}}`
