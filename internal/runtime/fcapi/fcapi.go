// Package fcapi is a Function Compute runtime API server for tests: it hands
// invocations to a function binary started with FC_RUNTIME_API pointing at
// it, exactly as the platform does (GET /2020-11-11/runtime/invocation/next,
// POST .../{id}/response, POST .../{id}/error, every answer 200), and returns
// what the function answered; Run starts a function binary and watches it
// exit. Tests of functions/* and the tools that time them import it.
package fcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const prefix = "/2020-11-11/runtime/invocation/"

// Invocation is one event handed to the function.
type Invocation struct {
	Payload []byte
	// Timeout is the function's timeout; the deadline header is now+Timeout.
	Timeout time.Duration
	// Credentials are the function role's STS credentials for this invocation.
	AccessKeyID, AccessKeySecret, SecurityToken string
	RetryCount                                  int
	Region, AccountID, FunctionName             string
}

// Result is what the function answered.
type Result struct {
	RequestID string
	Payload   []byte // the response body, when it succeeded
	Error     *Error // set when it reported an error
}

// Error is the body of POST .../error.
type Error struct {
	Message    string `json:"errorMessage"`
	Type       string `json:"errorType"`
	StackTrace any    `json:"stackTrace,omitempty"`
}

// Server is the runtime API.
type Server struct {
	srv     *http.Server
	ln      net.Listener
	queue   chan *pending
	mu      sync.Mutex
	pending map[string]*pending
	seq     int
	// gen counts the instance's restarts (InstanceRestarted); a poll for
	// the next invocation that began under an older one is the killed
	// instance's.
	gen int
	// polls is how many polls wait for an invocation.
	polls int
}

type pending struct {
	id   string
	inv  Invocation
	done chan Result
}

// Start listens on a free loopback port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, queue: make(chan *pending, 1024), pending: map[string]*pending{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the value for FC_RUNTIME_API (host:port, no scheme).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// InstanceRestarted says that the instance taking invocations from s was
// killed and is about to be started again. Its SDK keeps a poll for the
// next invocation open while it runs one, and the server learns that the
// poll's connection is gone only when it gets round to reading it, which
// on a loaded machine can come after the next invocation is queued: that
// invocation would go to the dead instance and never be answered, where
// the platform hands it to a live one. A poll that began before this call
// puts what it takes back in the queue for the restarted instance.
func (s *Server) InstanceRestarted() {
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
}

// Invoke hands inv to the function and waits for its answer.
func (s *Server) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	if inv.Timeout == 0 {
		inv.Timeout = 60 * time.Second
	}
	s.mu.Lock()
	s.seq++
	p := &pending{id: fmt.Sprintf("req-%d-%d", time.Now().UnixNano(), s.seq), inv: inv, done: make(chan Result, 1)}
	s.pending[p.id] = p
	s.mu.Unlock()
	select {
	case s.queue <- p:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case r := <-p.done:
		return r, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("invocation %s: no answer: %w", p.id, ctx.Err())
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodGet && path == "next":
		s.mu.Lock()
		gen := s.gen
		s.polls++
		s.mu.Unlock()
		var p *pending
		select {
		case p = <-s.queue:
		case <-r.Context().Done():
		}
		s.mu.Lock()
		stale := gen != s.gen
		s.polls--
		s.mu.Unlock()
		if p == nil {
			return
		}
		if stale {
			// The killed instance's poll: the invocation waits for the
			// restarted one.
			select {
			case s.queue <- p:
			default:
				go func() { s.queue <- p }()
			}
			http.Error(w, "the instance that polled was restarted", http.StatusGone)
			return
		}
		h := w.Header()
		h.Set("x-fc-request-id", p.id)
		h.Set("x-fc-function-deadline", strconv.FormatInt(time.Now().Add(p.inv.Timeout).UnixMilli(), 10))
		h.Set("x-fc-function-timeout", strconv.Itoa(int(p.inv.Timeout/time.Second)))
		h.Set("x-fc-access-key-id", p.inv.AccessKeyID)
		h.Set("x-fc-access-key-secret", p.inv.AccessKeySecret)
		h.Set("x-fc-security-token", p.inv.SecurityToken)
		h.Set("x-fc-region", p.inv.Region)
		h.Set("x-fc-account-id", p.inv.AccountID)
		h.Set("x-fc-retry-count", strconv.Itoa(p.inv.RetryCount))
		h.Set("x-fc-function-name", p.inv.FunctionName)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(p.inv.Payload)
	case r.Method == http.MethodPost && (strings.HasSuffix(path, "/response") || strings.HasSuffix(path, "/error")):
		id, kind, _ := strings.Cut(path, "/")
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		p := s.pending[id]
		delete(s.pending, id)
		s.mu.Unlock()
		if p == nil {
			http.Error(w, "unknown invocation "+id, http.StatusNotFound)
			return
		}
		res := Result{RequestID: id}
		if kind == "error" {
			var e Error
			if err := json.Unmarshal(body, &e); err != nil {
				e = Error{Message: string(body), Type: "Unparsable"}
			}
			res.Error = &e
		} else {
			res.Payload = body
		}
		p.done <- res
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "not a runtime API path: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}
