package queue_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
)

func TestHTTPStructuredContract(t *testing.T) { queuetest.Run(t, queuetest.HTTP(t, false)) }

func TestHTTPBinaryContract(t *testing.T) { queuetest.Run(t, queuetest.HTTP(t, true)) }

const sinkSecret = "s3cr3t-sink-value"

func openSink(t *testing.T, rawURL string) queue.Publisher {
	t.Helper()
	p, err := queue.Open(context.Background(), rawURL, queue.WithSinkSecret(sinkSecret))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestHTTPBinaryModeHeaders(t *testing.T) {
	var got http.Header
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	p := openSink(t, srv.URL+"/hook?mode=binary")
	m := queuetest.NewMessage("ev-1", "io.vpngw.gateway.active", 7)
	if err := p.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{
		"Ce-Id": "ev-1", "Ce-Type": "io.vpngw.gateway.active", "Ce-Source": "/vpngw", "Ce-Specversion": "1.0",
		"Content-Type": "application/json",
	} {
		if v := got.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	if got.Get("Ce-Datacontenttype") != "" || got.Get("Ce-Data") != "" {
		t.Errorf("data or datacontenttype sent as an attribute header: %v", got)
	}
	if body != `{"seq":7}` {
		t.Errorf("body %q, want the data alone", body)
	}
}

func TestHTTPAnswers(t *testing.T) {
	for _, c := range []struct {
		name       string
		status     int
		retryAfter string
		refused    bool
		wantAfter  time.Duration
	}{
		{"200 acknowledged", 200, "", false, 0},
		{"204 acknowledged", 204, "", false, 0},
		{"400 refused", 400, "", true, 0},
		{"404 refused", 404, "", true, 0},
		{"410 refused", 410, "", true, 0},
		{"408 transient", 408, "", false, 0},
		{"429 with Retry-After", 429, "7", false, 7 * time.Second},
		{"503 with Retry-After", 503, "3", false, 3 * time.Second},
		{"500 transient", 500, "", false, 0},
		{"302 not followed", 302, "", false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				if c.status == 302 {
					w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
				}
				w.WriteHeader(c.status)
			}))
			defer srv.Close()
			p := openSink(t, srv.URL+"/hook")
			err := p.Publish(context.Background(), queuetest.NewMessage("ev", "io.vpngw.gateway.active", 1))
			ok := c.status >= 200 && c.status < 300
			switch {
			case ok && err != nil:
				t.Fatalf("got %v, want success", err)
			case !ok && err == nil:
				t.Fatalf("got success for %d", c.status)
			case !ok && errors.Is(err, queue.ErrRefused) != c.refused:
				t.Fatalf("%d: errors.Is(ErrRefused) = %v, want %v (%v)", c.status, !c.refused, c.refused, err)
			}
			if d, has := queue.RetryAfter(err); d != c.wantAfter || has != (c.wantAfter > 0) {
				t.Errorf("RetryAfter = %s, %v; want %s", d, has, c.wantAfter)
			}
			if hits.Load() != 1 {
				t.Errorf("receiver hit %d times, want 1", hits.Load())
			}
		})
	}
}

func TestHTTPOpenRefusals(t *testing.T) {
	wantOpenErrors(t, []openCase{
		{"http://example.com/hook", "plaintext"},
		{"http://10.0.0.1/hook", "plaintext"},
		{"https://user:pw@example.com/hook", "user information"},
		{"https://example.com/hook?mode=fancy", "mode"},
		{"https://example.com/hook?timeout=-1s", "timeout"},
	}, queue.WithSinkSecret(sinkSecret))
	if _, err := queue.Open(context.Background(), "https://example.com/hook"); err == nil || !strings.Contains(err.Error(), "VPNGW_SINK_SECRET") {
		t.Errorf("Open without a secret: got %v, want it to name VPNGW_SINK_SECRET", err)
	}
	for _, u := range []string{"http://127.0.0.1:9/hook", "http://[::1]:9/hook", "http://localhost:9/hook", "https://example.com/hook"} {
		p, err := queue.Open(context.Background(), u, queue.WithSinkSecret(sinkSecret))
		if err != nil {
			t.Errorf("Open(%s): %v", u, err)
			continue
		}
		_ = p.Close()
	}
}

func TestHTTPErrorsHoldNoSecret(t *testing.T) {
	// The receiver echoes what it got, the way a careless one might.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		_, _ = w.Write([]byte("bad request " + r.URL.RawQuery + " " + sinkSecret))
	}))
	defer srv.Close()
	for _, u := range []string{srv.URL + "/hook?token=tok-abcdef", "http://127.0.0.1:1/hook?token=tok-abcdef"} {
		p := openSink(t, u)
		err := p.Publish(context.Background(), queuetest.NewMessage("ev", "io.vpngw.gateway.active", 1))
		if err == nil {
			t.Fatal("want an error")
		}
		if strings.Contains(err.Error(), sinkSecret) {
			t.Errorf("error holds the sink secret: %v", err)
		}
		if strings.Contains(err.Error(), "tok-abcdef") {
			t.Errorf("error holds the URL's token: %v", err)
		}
	}
}

func TestHTTPSignatureChangesWithSecret(t *testing.T) {
	r := queuetest.NewHTTPReceiver(t, "another-secret")
	p := openSink(t, r.URL+"/x")
	err := p.Publish(context.Background(), queuetest.NewMessage("ev", "io.vpngw.gateway.active", 1))
	if err == nil || errors.Is(err, queue.ErrRefused) == false {
		t.Fatalf("a receiver with another secret: got %v, want a refusal (401)", err)
	}
	if r.BadSignatures() != 1 {
		t.Fatalf("receiver saw %d bad signatures, want 1", r.BadSignatures())
	}
}

// openCase is a URL Open must refuse, and a word its error must hold.
type openCase struct{ url, want string }

func wantOpenErrors(t *testing.T, cases []openCase, opts ...queue.OpenOption) {
	t.Helper()
	for _, c := range cases {
		if _, err := queue.Open(context.Background(), c.url, opts...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s): got %v, want an error about %s", c.url, err, c.want)
		}
	}
}
