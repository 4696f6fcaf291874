package queuetest

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/webhook/signing"
)

// RefusedType is an event type the HTTP test receiver answers 422 for, as
// a receiver refuses an event it will never take.
const RefusedType = "io.vpngw.test.refused"

// HTTPReceiver is a CloudEvents HTTP receiver on 127.0.0.1 for tests: it
// verifies each request's vpngw signature with Secret, as a real receiver
// would, and hands every accepted event, per path, to a consumer. A request
// whose signature does not verify is answered 401 and counted.
type HTTPReceiver struct {
	Secret string
	URL    string // http://127.0.0.1:port
	ln     net.Listener
	srv    *http.Server

	mu    sync.Mutex
	paths map[string]chan Received
	bad   int
}

// BadSignatures returns how many requests were refused for their signature.
func (r *HTTPReceiver) BadSignatures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

// NewHTTPReceiver starts a receiver on a free loopback port, stopped at
// cleanup.
func NewHTTPReceiver(t testing.TB, secret string) *HTTPReceiver {
	t.Helper()
	return NewHTTPReceiverAt(t, secret, "127.0.0.1:0")
}

// NewHTTPReceiverAt is NewHTTPReceiver on addr: a receiver that comes
// back on the port where one was down.
func NewHTTPReceiverAt(t testing.TB, secret, addr string) *HTTPReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	r := &HTTPReceiver{Secret: secret, URL: "http://" + ln.Addr().String(), ln: ln, paths: map[string]chan Received{}}
	r.srv = &http.Server{Handler: r}
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

// Path returns a channel receiving every event posted to path.
func (r *HTTPReceiver) Path(path string) <-chan Received { return r.path(path) }

func (r *HTTPReceiver) path(path string) chan Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch, ok := r.paths[path]
	if !ok {
		ch = make(chan Received, 1000)
		r.paths[path] = ch
	}
	return ch
}

// ServeHTTP verifies and records one event.
func (r *HTTPReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil || req.Method != http.MethodPost {
		http.Error(w, "POST a CloudEvent", http.StatusBadRequest)
		return
	}
	ts := req.Header.Get(signing.HeaderTimestamp)
	sig, _ := strings.CutPrefix(req.Header.Get(signing.HeaderSignature), "v1=")
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, signing.MAC([]byte(r.Secret), ts, body)) {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rec := Received{ContentType: req.Header.Get("Content-Type"), Body: body}
	if rec.ContentType == queue.ContentType {
		var ev struct{ ID, Type string }
		_ = json.Unmarshal(body, &ev)
		rec.ID, rec.Route = ev.ID, ev.Type
	} else {
		attrs := map[string]string{}
		for k, vs := range req.Header {
			if name, ok := strings.CutPrefix(strings.ToLower(k), "ce-"); ok {
				attrs[name] = vs[0]
			}
		}
		attrs["datacontenttype"] = rec.ContentType
		rec.ID, rec.Route = attrs["id"], attrs["type"]
		rec.Body = Structured(attrs, body)
	}
	if rec.Route == RefusedType {
		http.Error(w, "this receiver takes no "+RefusedType, http.StatusUnprocessableEntity)
		return
	}
	r.path(req.URL.Path) <- rec
	w.WriteHeader(http.StatusAccepted)
}

// HTTP returns a Broker of HTTP sinks at a test receiver, in structured or
// binary mode; each destination is a path of its own.
func HTTP(t testing.TB, binary bool) Broker {
	t.Helper()
	const secret = "queuetest-sink-secret"
	r := NewHTTPReceiver(t, secret)
	return Broker{
		Binary: binary,
		Refused: func(run string) (outgoing.Event, error) {
			return NewMessage(run+"-refused", RefusedType, 2), queue.ErrRejected
		},
		NewDestination: func(t testing.TB) Destination {
			path := "/" + NewRunID()
			u := r.URL + path
			if binary {
				u += "?mode=binary"
			}
			return Destination{
				NewPublisher: func(t testing.TB) queue.Publisher {
					p, err := queue.Open(context.Background(), u, queue.WithSinkSecret(secret))
					if err != nil {
						t.Fatalf("queue.Open: %v", err)
					}
					t.Cleanup(func() { _ = p.Close() })
					return p
				},
				Consume: func(t testing.TB) <-chan Received { return r.Path(path) },
				Route:   func(eventType string) string { return eventType },
			}
		},
	}
}
