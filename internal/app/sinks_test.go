package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/reconcile"
)

const testSinkSecret = "sink-secret-for-the-component-test"

// receivedTypes reads n events from in and returns their types.
func receivedTypes(t *testing.T, in <-chan queuetest.Received, n int) []string {
	t.Helper()
	var out []string
	for _, r := range queuetest.Receive(t, in, n) {
		out = append(out, r.Route)
	}
	return out
}

// tickActive moves the test clock past provisioning and runs one
// reconcile tick, which must make want gateways active.
func (s *stack) tickActive(want int) {
	s.t.Helper()
	s.Clock.Advance(3 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if rep, _ := s.App.Reconcile.Tick(ctx, reconcile.Options{}); rep.Active != want {
		s.t.Fatalf("tick: %+v, want %d gateways active", rep, want)
	}
}

func expectNone(t *testing.T, in <-chan queuetest.Received, who string) {
	t.Helper()
	select {
	case r := <-in:
		t.Fatalf("%s received %s %s again: published twice", who, r.Route, r.ID)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestSinksOneDownOneRefusing: three sinks in VPNGW_QUEUE_URL, one up, one
// down (connection refused), one refusing the active event for good. The up
// sink gets every outcome in order without waiting; the refused event is
// parked for its sink alone; the down sink gets every outcome, in order,
// once it is back; nothing arrives twice.
// refusingSink is an HTTP sink that refuses (422) every event of type
// refused and hands each other one, its body unread, to next with its type.
// It closes with the test.
func refusingSink(t *testing.T, refused string, next func(w http.ResponseWriter, r *http.Request, typ string)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ Type string }
		_ = json.Unmarshal(body, &ev)
		if ev.Type == refused {
			http.Error(w, "this receiver takes no "+refused+" events", http.StatusUnprocessableEntity)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r, ev.Type)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSinksOneDownOneRefusing(t *testing.T) {
	up := queuetest.NewHTTPReceiver(t, testSinkSecret)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := ln.Addr().String()
	ln.Close() // connection refused until the receiver comes back
	var mu sync.Mutex
	var pickyGot []string
	picky := refusingSink(t, events.TypeActive, func(w http.ResponseWriter, _ *http.Request, typ string) {
		mu.Lock()
		pickyGot = append(pickyGot, typ)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	pickyURL := picky.URL + "/picky"
	sinks := strings.Join([]string{up.URL + "/up", "http://" + downAddr + "/down", pickyURL}, ",")
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_QUEUE_URL": sinks, "VPNGW_SINK_SECRET": testSinkSecret}))

	if _, err := s.provision(requestEvent("evt-sinks", validData())); err != nil {
		t.Fatal(err)
	}
	s.tickActive(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	upIn := up.Path("/up")
	if got := receivedTypes(t, upIn, 2); strings.Join(got, " ") != events.TypeAccepted+" "+events.TypeActive {
		t.Fatalf("the up sink got %v, want accepted then active", got)
	}
	mu.Lock()
	if strings.Join(pickyGot, " ") != events.TypeAccepted {
		t.Fatalf("the refusing sink took %v, want accepted only", pickyGot)
	}
	mu.Unlock()
	pickyName := queue.SinkName(pickyURL)
	if n, err := s.App.Store.CountParkedFor(ctx, pickyName); err != nil || n != 1 {
		t.Fatalf("parked for the refusing sink: %d, %v; want 1", n, err)
	}
	downName := queue.SinkName("http://" + downAddr + "/down")
	if n, _ := s.App.Store.CountParkedFor(ctx, downName); n != 0 {
		t.Fatalf("parked for the down sink: %d, want 0 (down is not a refusal)", n)
	}
	if left, _ := s.App.Store.UnsentFor(ctx, downName, 10); len(left) != 2 {
		t.Fatalf("the down sink's outbox holds %d events, want 2", len(left))
	}

	// The down sink comes back.
	down := queuetest.NewHTTPReceiverAt(t, testSinkSecret, downAddr)
	if _, err := s.App.Outbox.Drain(ctx); err != nil {
		t.Fatalf("drain once every sink is up: %v", err)
	}
	if got := receivedTypes(t, down.Path("/down"), 2); strings.Join(got, " ") != events.TypeAccepted+" "+events.TypeActive {
		t.Fatalf("the sink that came back got %v, want accepted then active", got)
	}
	expectNone(t, upIn, "the up sink")
	if up.BadSignatures()+down.BadSignatures() != 0 {
		t.Fatalf("signatures that did not verify: %d", up.BadSignatures()+down.BadSignatures())
	}
	if n, _ := s.App.Store.CountParkedFor(ctx, pickyName); n != 1 {
		t.Fatalf("the refused event is no longer parked (%d)", n)
	}
}
