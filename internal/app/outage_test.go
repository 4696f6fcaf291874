package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
)

// TestThreeSinksOneDownForAMinute: the twin's NATS, an HTTP sink that
// answers 503 (Retry-After: 20) for 60 s of the test clock, and an HTTP
// sink that refuses failed events for good. Requests keep arriving during
// the outage: NATS and the refusing sink get each outcome at once, the
// failed event is parked for the refusing sink alone, and the sink that
// was down, once back, gets every outcome in the order NATS got them, each
// once, under the ids NATS got.
func TestThreeSinksOneDownForAMinute(t *testing.T) {
	var s *stack
	var end atomic.Pointer[time.Time]
	var downCalls, downRefused atomic.Int32
	downRecv := queuetest.NewHTTPReceiver(t, testSinkSecret)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downCalls.Add(1)
		if e := end.Load(); e != nil && s.Clock.Now().Before(*e) {
			downRefused.Add(1)
			w.Header().Set("Retry-After", "20")
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		downRecv.ServeHTTP(w, r)
	}))
	defer down.Close()
	pickyRecv := queuetest.NewHTTPReceiver(t, testSinkSecret)
	picky := refusingSink(t, events.TypeFailed, func(w http.ResponseWriter, r *http.Request, _ string) {
		pickyRecv.ServeHTTP(w, r)
	})
	s = newStack(t, apptest.WithSinks(down.URL+"/down", picky.URL+"/picky"),
		apptest.WithEnv(map[string]string{"VPNGW_SINK_SECRET": testSinkSecret, "VPNGW_POLICY_INLINE": ticketsPolicy}))
	outageEnd := s.Clock.Now().Add(60 * time.Second)
	end.Store(&outageEnd)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	downIn, pickyIn := downRecv.Path("/down"), pickyRecv.Path("/picky")

	// During the outage: a request every 10 s, one of them denied (the
	// rule allows 20 Mbit/s).
	var nats []string
	for i := range 6 {
		data := validData()
		if i == 3 {
			data["Bandwidth"] = 200 // over the rule's 20: failed, PolicyDenied
		}
		if _, err := s.provision(requestEvent(fmt.Sprintf("evt-outage-%d", i), data)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = s.App.Outbox.Drain(ctx) // what a later invocation does; the down sink's error is expected
		got := s.Events(i + 1)
		if len(got) != i+1 {
			t.Fatalf("at %s NATS holds %d events, want %d: it waits for the down sink", s.Clock.Now().Sub(outageEnd.Add(-time.Minute)), len(got), i+1)
		}
		nats = nats[:0]
		for _, e := range got {
			nats = append(nats, e.ID)
		}
		if i != 3 {
			if r := queuetest.Receive(t, pickyIn, 1); r[0].ID != nats[i] {
				t.Fatalf("the refusing sink got %s, want %s", r[0].ID, nats[i])
			}
		}
		select {
		case r := <-downIn:
			t.Fatalf("the down sink took %s during its outage", r.ID)
		default:
		}
		s.Clock.Advance(10 * time.Second)
	}
	if downRefused.Load() == 0 {
		t.Fatal("the down sink was never called during its outage")
	}
	// Retry-After: 20 is honoured on the test clock: six drains over 60 s
	// call the down sink at most once per 20 s.
	if n := downCalls.Load(); n > 4 {
		t.Errorf("the down sink was called %d times in its 60 s outage, want at most 4 (Retry-After: 20)", n)
	}
	if n, err := s.App.Store.CountParkedFor(ctx, queue.SinkName(picky.URL+"/picky")); err != nil || n != 1 {
		t.Fatalf("parked for the refusing sink: %d, %v; want the failed event", n, err)
	}
	if n, _ := s.App.Store.CountParkedFor(ctx, queue.SinkName(down.URL+"/down")); n != 0 {
		t.Fatalf("parked for the down sink: %d, want 0 (down is not a refusal)", n)
	}

	// Back: one drain delivers the backlog in order; the actives follow.
	s.Clock.Advance(20 * time.Second)
	if _, err := s.App.Outbox.Drain(ctx); err != nil {
		t.Fatalf("drain once the sink is back: %v", err)
	}
	s.tickActive(5)
	all := s.Events(11)
	nats = nats[:0]
	for _, e := range all {
		nats = append(nats, e.ID)
	}
	var downGot []string
	for _, r := range queuetest.Receive(t, downIn, len(nats)) {
		downGot = append(downGot, r.ID)
	}
	if !slices.Equal(downGot, nats) {
		t.Fatalf("the sink that was down got\n%v\nwant what NATS got, in its order\n%v", downGot, nats)
	}
	if got := len(queuetest.Receive(t, pickyIn, 5)); got != 5 {
		t.Fatalf("the refusing sink got %d actives, want 5", got)
	}
	expectNone(t, downIn, "the sink that was down")
	expectNone(t, pickyIn, "the refusing sink")
	if again := s.Events(0); len(again) != len(nats) {
		t.Fatalf("NATS holds %d events, want %d: published twice", len(again), len(nats))
	}
	seen := map[string]bool{}
	for _, id := range nats {
		if seen[id] {
			t.Fatalf("event %s published twice", id)
		}
		seen[id] = true
	}
	if downRecv.BadSignatures()+pickyRecv.BadSignatures() != 0 {
		t.Fatal("a signature did not verify")
	}
	for _, sink := range []string{"", queue.SinkName(down.URL + "/down"), queue.SinkName(picky.URL + "/picky")} {
		if left, err := s.App.Store.UnsentFor(ctx, sink, 100); err != nil || len(left) != 0 {
			t.Fatalf("events left for sink %q: %d, %v", sink, len(left), err)
		}
	}
}
