package runtime_test

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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/events"
	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/runtime"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

// docEvent is the request struct of Function Compute 3.0's "Use an HTTP
// trigger to invoke a function" page, verbatim.
const docEvent = `{
    "version": "v1",
    "rawPath": "/example",
    "body": "Hello FC!",
    "isBase64Encoded": false,
    "headers": {
        "header1": "value1",
        "header2": "value1,value2"
    },
    "queryParameters": {
        "parameter1": "value1",
        "parameter2": "value1,value2"
    },
    "requestContext": {
        "accountId": "123456*********",
        "domainName": "<http-trigger-id>.<region-id>.fcapp.run",
        "domainPrefix": "<http-trigger-id>",
        "http": {
            "method": "GET",
            "path": "/example",
            "protocol": "HTTP/1.1",
            "sourceIp": "11.11.11.**",
            "userAgent": "PostmanRuntime/7.32.3"
        },
        "requestId": "1-64f6cd87-*************",
        "time": "2023-09-05T06:41:11Z",
        "timeEpoch": "1693896071895"
    }
}`

// seen is what a handler saw of its request.
type seen struct {
	method, path, rawPath, query, host, remote, proto string
	header                                            http.Header
	body                                              []byte
	ctxValue                                          any
}

type ctxKey struct{}

func recordingHandler(got *seen, status int, header map[string]string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = seen{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), query: r.URL.RawQuery,
			host: r.Host, remote: r.RemoteAddr, proto: r.Proto, header: r.Header.Clone(), body: b,
			ctxValue: r.Context().Value(ctxKey{})}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if status != 0 {
			w.WriteHeader(status)
		}
		w.Write(body)
	})
}

func invoke(t *testing.T, h runtime.Handler, payload string) events.HTTPTriggerResponse {
	t.Helper()
	ctx := context.WithValue(context.Background(), ctxKey{}, "invocation")
	out, err := h(ctx, json.RawMessage(payload))
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	res, ok := out.(events.HTTPTriggerResponse)
	if !ok {
		t.Fatalf("result %T, want events.HTTPTriggerResponse", out)
	}
	// What Function Compute receives is the result as JSON.
	b, err := json.Marshal(res)
	if err != nil || !strings.Contains(string(b), `"statusCode"`) {
		t.Fatalf("result marshals to %s, %v", b, err)
	}
	return res
}

func TestHTTPTriggerDocumentedEvent(t *testing.T) {
	var got seen
	h := runtime.HTTPTrigger(recordingHandler(&got, http.StatusCreated, map[string]string{"X-Answer": "yes"}, []byte(`{"ok":true}`)))
	res := invoke(t, h, docEvent)

	if got.method != "GET" || got.path != "/example" || got.proto != "HTTP/1.1" {
		t.Errorf("request line %s %s %s", got.method, got.path, got.proto)
	}
	if got.query != "parameter1=value1&parameter2=value1%2Cvalue2" {
		t.Errorf("query %q", got.query)
	}
	if got.header.Get("Header1") != "value1" || got.header.Get("Header2") != "value1,value2" {
		t.Errorf("headers %v", got.header)
	}
	if string(got.body) != "Hello FC!" {
		t.Errorf("body %q", got.body)
	}
	if got.host != "<http-trigger-id>.<region-id>.fcapp.run" || got.remote != "11.11.11.**" {
		t.Errorf("host %q, remote %q", got.host, got.remote)
	}
	if got.ctxValue != "invocation" {
		t.Error("the request does not carry the invocation's context")
	}
	want := events.HTTPTriggerResponse{StatusCode: 201, Headers: map[string]string{"X-Answer": "yes"}, Body: `{"ok":true}`}
	if res.StatusCode != want.StatusCode || res.Headers["X-Answer"] != "yes" || res.Body != want.Body || res.IsBase64Encoded {
		t.Errorf("response %+v, want %+v", res, want)
	}
}

func TestHTTPTriggerBodies(t *testing.T) {
	binary := []byte{0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe}
	t.Run("base64 request body, binary answer", func(t *testing.T) {
		var got seen
		h := runtime.HTTPTrigger(recordingHandler(&got, 0, nil, binary))
		ev := `{"rawPath":"/upload","body":"` + base64.StdEncoding.EncodeToString(binary) + `","isBase64Encoded":true,
			"headers":{"content-type":"application/octet-stream","content-length":"999"},"requestContext":{"http":{"method":"post"}}}`
		res := invoke(t, h, ev)
		if got.method != "POST" || string(got.body) != string(binary) {
			t.Errorf("method %s, body %x", got.method, got.body)
		}
		if got.header.Get("Content-Length") != "" {
			t.Error("a Content-Length header that does not match the body was passed on")
		}
		if res.StatusCode != 200 || !res.IsBase64Encoded || res.Body != base64.StdEncoding.EncodeToString(binary) {
			t.Errorf("response %+v", res)
		}
	})
	t.Run("nothing written", func(t *testing.T) {
		h := runtime.HTTPTrigger(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		res := invoke(t, h, `{"rawPath":"/","requestContext":{"http":{"method":"POST"}}}`)
		if res.StatusCode != 200 || res.Body != "" || res.IsBase64Encoded {
			t.Errorf("response %+v", res)
		}
	})
	t.Run("encoded path, and http.path when rawPath is missing", func(t *testing.T) {
		var got seen
		h := runtime.HTTPTrigger(recordingHandler(&got, 0, nil, nil))
		invoke(t, h, `{"rawPath":"/a%2Fb/c%20d","requestContext":{"http":{"method":"GET","path":"/a/b/c d"}}}`)
		if got.path != "/a/b/c d" || got.rawPath != "/a%2Fb/c%20d" {
			t.Errorf("path %q, raw %q", got.path, got.rawPath)
		}
		invoke(t, h, `{"requestContext":{"http":{"method":"GET","path":"/c d"}}}`)
		if got.path != "/c d" {
			t.Errorf("path %q", got.path)
		}
	})
	t.Run("repeated response headers are joined", func(t *testing.T) {
		h := runtime.HTTPTrigger(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Accept")
			w.Header().Add("Vary", "Origin")
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusInternalServerError) // ignored, as net/http does
		}))
		res := invoke(t, h, `{"rawPath":"/","requestContext":{"http":{"method":"GET"}}}`)
		if res.StatusCode != http.StatusTeapot || res.Headers["Vary"] != "Accept, Origin" {
			t.Errorf("response %+v", res)
		}
	})
}

func TestHTTPTriggerRefuses(t *testing.T) {
	h := runtime.HTTPTrigger(http.NotFoundHandler())
	for name, payload := range map[string]string{
		"a CloudEvent":       `{"specversion":"1.0","id":"1","source":"/s","type":"t"}`,
		"not JSON":           `{`,
		"an array":           `[]`,
		"bad base64 body":    `{"body":"%%%","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}`,
		"unparseable target": `{"rawPath":"/%zz","requestContext":{"http":{"method":"GET"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if out, err := h(context.Background(), json.RawMessage(payload)); err == nil {
				t.Fatalf("accepted: %+v", out)
			}
		})
	}
}

// countingProvisioner records how many requests reached it.
type countingProvisioner struct {
	mu sync.Mutex
	in []provision.Input
}

func (p *countingProvisioner) HandleAll(_ context.Context, in []provision.Input) ([]provision.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.in = append(p.in, in...)
	out := make([]provision.Result, len(in))
	for i, x := range in {
		out[i] = provision.Result{Source: x.Identity.Source, EventID: x.Identity.EventID, State: store.Pending, VpnGatewayId: "vpn-bp1ft"}
	}
	return out, nil
}

type onceGuard struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (g *onceGuard) FirstUse(_ context.Context, key string, _ time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen[key] {
		return false, nil
	}
	g.seen[key] = true
	return true, nil
}

// TestHTTPTriggerWebhook runs the webhook behind the trigger the way
// Function Compute delivers it (lower-case header names, the body as text):
// a signed CloudEvent is accepted with 202, and a bad, stale or replayed
// signature answers 401 and creates nothing.
func TestHTTPTriggerWebhook(t *testing.T) {
	const secret = "fc-trigger-test-secret-0123456789"
	now := time.Unix(1_790_000_000, 0)
	p := &countingProvisioner{}
	wh, err := webhook.New(webhook.Config{Secret: secret, SecretSources: []string{"*"}}, p, &onceGuard{seen: map[string]bool{}},
		webhook.WithClock(func() time.Time { return now }), webhook.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h := runtime.HTTPTrigger(wh)
	body := `{"specversion":"1.0","id":"fc-1","source":"/fc","type":"io.vpngw.gateway.requested","data":{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1x","Bandwidth":10}}`
	event := func(ts time.Time, sigSecret, sentBody string) string {
		tsS := strconv.FormatInt(ts.Unix(), 10)
		m := hmac.New(sha256.New, []byte(sigSecret))
		m.Write([]byte(tsS + "." + body))
		ev := map[string]any{
			"version": "v1", "rawPath": "/", "body": sentBody, "isBase64Encoded": false,
			"headers": map[string]string{
				"content-type": "application/cloudevents+json", "x-vpngw-timestamp": tsS,
				"x-vpngw-signature": "v1=" + hex.EncodeToString(m.Sum(nil)),
			},
			"requestContext": map[string]any{"http": map[string]string{"method": "POST", "path": "/", "sourceIp": "192.0.2.1"}},
		}
		b, _ := json.Marshal(ev)
		return string(b)
	}
	for _, tc := range []struct {
		name     string
		payload  string
		status   int
		recorded int
	}{
		{"bad signature", event(now, "not-the-secret-at-all-000000", body), 401, 0},
		{"tampered body", event(now, secret, strings.Replace(body, ":10}", ":1000}", 1)), 401, 0},
		{"stale", event(now.Add(-time.Hour), secret, body), 401, 0},
		{"signed", event(now, secret, body), 202, 1},
		{"replayed", event(now, secret, body), 401, 1},
	} {
		res := invoke(t, h, tc.payload)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, res.StatusCode, tc.status, res.Body)
		}
		if !strings.HasPrefix(res.Headers["Content-Type"], "application/json") {
			t.Errorf("%s: Content-Type %q", tc.name, res.Headers["Content-Type"])
		}
		p.mu.Lock()
		n := len(p.in)
		p.mu.Unlock()
		if n != tc.recorded {
			t.Fatalf("%s: %d requests reached the Provisioner, want %d", tc.name, n, tc.recorded)
		}
	}
}

// lambdaFixture reads one of aws-lambda-go's own event fixtures from the
// module the build uses.
func lambdaFixture(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/aws/aws-lambda-go: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The same handler serves a Lambda function URL: aws-lambda-go's fixture of
// its request (timeEpoch a number, the query as rawQueryString, cookies
// apart), and an answer Lambda reads as a function URL response.
func TestHTTPTriggerLambdaFunctionURL(t *testing.T) {
	var got seen
	h := runtime.HTTPTrigger(recordingHandler(&got, http.StatusAccepted, map[string]string{"Content-Type": "application/json"}, []byte(`{"ok":true}`)))
	res := invoke(t, h, lambdaFixture(t, "lambda-urls-request.json"))

	if got.method != "POST" || got.path != "/my/path" || got.proto != "HTTP/1.1" {
		t.Errorf("request line %s %s %s", got.method, got.path, got.proto)
	}
	// The query as sent: both values of parameter1, in order.
	if got.query != "parameter1=value1&parameter1=value2&parameter2=value" {
		t.Errorf("query %q", got.query)
	}
	if got.header.Get("Header1") != "value1" || got.header.Get("Header2") != "value1,value2" || got.header.Get("Cookie") != "cookie1; cookie2" {
		t.Errorf("headers %v", got.header)
	}
	if string(got.body) != "Hello from client!" || got.host != "<url-id>.lambda-url.us-west-2.on.aws" || got.remote != "123.123.123.123" {
		t.Errorf("body %q, host %q, remote %q", got.body, got.host, got.remote)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var answer lambdaevents.LambdaFunctionURLResponse
	if err := json.Unmarshal(b, &answer); err != nil {
		t.Fatalf("answer %s is not a function URL response: %v", b, err)
	}
	if answer.StatusCode != http.StatusAccepted || answer.Body != `{"ok":true}` || answer.Headers["Content-Type"] != "application/json" || answer.IsBase64Encoded {
		t.Errorf("function URL response %+v", answer)
	}
}
