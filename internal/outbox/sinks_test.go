package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// sinkFake records what it acknowledged; while down it fails every
// publish, and it refuses the ids in refuse for good.
type sinkFake struct {
	mu     sync.Mutex
	down   bool
	refuse map[string]bool
	sent   []string
	calls  int
}

func (f *sinkFake) Publish(_ context.Context, m outgoing.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	switch {
	case f.down:
		return errors.New("connection refused")
	case f.refuse[m.ID]:
		return fmt.Errorf("%w: 422", outbox.ErrRefused)
	}
	f.sent = append(f.sent, m.ID)
	return nil
}

func (f *sinkFake) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// insert stores request key with one event of id, type and body, routed to
// sinks (nil: the unnamed sinks).
func insert(t *testing.T, s store.Store, now time.Time, key, id, typ string, body []byte, sinks ...string) {
	t.Helper()
	if _, _, err := s.Insert(context.Background(), store.Request{Key: key, Source: "s", EventID: key, Params: []byte("{}"), CreatedAt: now, UpdatedAt: now, Sinks: sinks},
		[]store.Event{{RequestKey: key, Event: outgoing.Event{ID: id, Type: typ, Body: body}}}); err != nil {
		t.Fatal(err)
	}
}

// seed opens a fresh SQLite store, closed when the test ends, holding n
// requests k000, k001... with one event each (ek000, ek001...), and returns
// it with the event ids in order.
func seed(t *testing.T, n int) (store.Store, []string) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Now()
	var ids []string
	for i := range n {
		key := fmt.Sprintf("k%03d", i)
		ids = append(ids, "e"+key)
		insert(t, s, now, key, "e"+key, "t", []byte("{}"))
	}
	return s, ids
}

// TestSinksDoNotWaitForEachOther: one sink down, one refusing one event for
// good, one up. The up sink gets everything at once; the refused event is
// parked for its sink alone; the down sink gets everything, in order, once
// it is back, and nothing is published twice.
func TestSinksDoNotWaitForEachOther(t *testing.T) {
	ctx := context.Background()
	s, ids := seed(t, 30)
	up, down, picky := &sinkFake{}, &sinkFake{down: true}, &sinkFake{refuse: map[string]bool{ids[7]: true}}
	d, err := outbox.NewSinks(s, []outbox.Sink{{Name: store.FirstSink, Pub: down}, {Name: "up", Pub: up}, {Name: "picky", Pub: picky}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Drain(ctx)
	if err == nil {
		t.Fatal("want the down sink's error")
	}
	if rep.Published != 59 || rep.Parked != 1 {
		t.Fatalf("report %+v, want 59 published (30 + 29) and 1 parked", rep)
	}
	if got := up.got(); !slices.Equal(got, ids) {
		t.Fatalf("up sink got %v, want every event in order", got)
	}
	want := slices.Delete(slices.Clone(ids), 7, 8)
	if got := picky.got(); !slices.Equal(got, want) {
		t.Fatalf("picky sink got %v, want all but the refused one", got)
	}
	if n, _ := s.CountParkedFor(ctx, "picky"); n != 1 {
		t.Fatalf("parked for picky: %d, want 1", n)
	}
	for _, k := range []string{store.FirstSink, "up"} {
		if n, _ := s.CountParkedFor(ctx, k); n != 0 {
			t.Fatalf("parked for %q: %d, want 0: the refusal was picky's", k, n)
		}
	}
	if down.calls != 1 {
		t.Fatalf("the down sink was tried %d times in one drain, want once (it stops at its first failure)", down.calls)
	}
	// The down sink comes back: it gets everything, in order; the others
	// nothing more.
	down.mu.Lock()
	down.down = false
	down.mu.Unlock()
	rep, err = d.Drain(ctx)
	if err != nil || rep.Published != 30 || rep.Parked != 0 {
		t.Fatalf("second drain %+v, %v; want the 30 of the sink that came back", rep, err)
	}
	if got := down.got(); !slices.Equal(got, ids) {
		t.Fatalf("the sink that came back got %v, want every event in order", got)
	}
	if len(up.got()) != 30 || len(picky.got()) != 29 {
		t.Fatalf("up got %d, picky %d after the second drain: published twice", len(up.got()), len(picky.got()))
	}
	if held, err := d.Held(ctx); err != nil || held != 1 {
		t.Fatalf("Held = %d, %v; want 1", held, err)
	}
	// Replay for picky once it takes the event.
	if n, err := s.UnparkFor(ctx, "picky", []int64{8}); err != nil || n != 1 {
		t.Fatalf("UnparkFor = %d, %v", n, err)
	}
	picky.mu.Lock()
	picky.refuse = nil
	picky.mu.Unlock()
	if rep, err := d.Drain(ctx); err != nil || rep.Published != 1 {
		t.Fatalf("drain after replay %+v, %v; want the one replayed event", rep, err)
	}
	if got := picky.got(); got[len(got)-1] != ids[7] || len(up.got()) != 30 || len(down.got()) != 30 {
		t.Fatalf("replay: picky got %v; up %d, down %d (want 30 each: a replay is the picky sink's alone)", got, len(up.got()), len(down.got()))
	}
}

// retryLater fails with a Retry-After the first time, then acknowledges.
type retryLater struct{ calls int }

type afterErr time.Duration

func (e afterErr) Error() string             { return "429 Too Many Requests" }
func (e afterErr) RetryAfter() time.Duration { return time.Duration(e) }

func (r *retryLater) Publish(context.Context, outgoing.Event) error {
	r.calls++
	if r.calls == 1 {
		return afterErr(time.Minute)
	}
	return nil
}

func TestSinkRetryAfterIsHonoured(t *testing.T) {
	ctx := context.Background()
	s, _ := seed(t, 2)
	now := time.Now()
	pub := &retryLater{}
	d, err := outbox.New(s, pub, nil, outbox.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Drain(ctx); err == nil {
		t.Fatal("want the 429")
	}
	if _, err := d.Drain(ctx); err == nil || pub.calls != 1 {
		t.Fatalf("drain within the Retry-After: err %v, %d calls; want no call", err, pub.calls)
	}
	now = now.Add(time.Minute + time.Second)
	if rep, err := d.Drain(ctx); err != nil || rep.Published != 2 {
		t.Fatalf("drain after the Retry-After: %+v, %v", rep, err)
	}
}

func TestNewSinksRefusesBadNames(t *testing.T) {
	s, _ := seed(t, 0)
	p := &sinkFake{}
	for _, sinks := range [][]outbox.Sink{
		{{Name: "x", Pub: p}},
		{{Name: store.FirstSink, Pub: p}, {Name: store.FirstSink, Pub: p}},
		{{Name: store.FirstSink, Pub: p}, {Name: "a", Pub: p}, {Name: "a", Pub: p}},
		{{Name: store.FirstSink, Pub: nil}},
	} {
		if _, err := outbox.NewSinks(s, sinks, nil); err == nil {
			t.Errorf("NewSinks(%v) accepted", sinks)
		}
	}
}
