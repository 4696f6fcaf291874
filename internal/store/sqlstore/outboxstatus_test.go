package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
)

// OutboxStatus counts, per sink, what waits and what is parked, with the
// oldest of each, on every backend.
func TestOutboxStatus(t *testing.T) {
	for kind, u := range testenv.StoreURLs(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			now := t0
			s := openStore(t, u, sqlstore.WithClock(func() time.Time { return now }))
			const other = "https://receiver.example/hook"
			sinks := []string{store.FirstSink, other}
			if st, err := s.OutboxStatus(ctx, store.FirstSink); err != nil || st != (sqlstore.SinkStatus{}) {
				t.Fatalf("empty outbox: %+v, %v", st, err)
			}
			var evs []store.Event
			for _, id := range []string{"e1", "e2", "e3"} {
				evs = append(evs, store.Event{Event: outgoing.Event{ID: id, Type: "io.vpngw.gateway.accepted", Body: []byte(`{}`)}})
			}
			if _, _, err := s.Insert(ctx, store.Request{Key: "k-status", Source: "s", EventID: "e", ClientToken: "c", RegionID: "r", State: store.Received}, evs); err != nil {
				t.Fatal(err)
			}
			un, err := s.UnsentFor(ctx, store.FirstSink, 10)
			if err != nil || len(un) != 3 {
				t.Fatalf("UnsentFor = %d, %v", len(un), err)
			}
			now = t0.Add(time.Minute)
			if err := s.MarkSentFor(ctx, store.FirstSink, []int64{un[0].Seq}, sinks); err != nil {
				t.Fatal(err)
			}
			if err := s.ParkFor(ctx, store.FirstSink, un[1].Seq, "too large", sinks); err != nil {
				t.Fatal(err)
			}
			first, err := s.OutboxStatus(ctx, store.FirstSink)
			if err != nil || first.Pending != 1 || !first.OldestPending.Equal(t0) || first.Parked != 1 || !first.OldestParked.Equal(t0.Add(time.Minute)) {
				t.Errorf("first sink: %+v, %v; want 1 pending since %v, 1 parked since %v", first, err, t0, t0.Add(time.Minute))
			}
			second, err := s.OutboxStatus(ctx, other)
			if err != nil || second.Pending != 3 || !second.OldestPending.Equal(t0) || second.Parked != 0 || !second.OldestParked.IsZero() {
				t.Errorf("second sink: %+v, %v; want 3 pending, none parked", second, err)
			}
		})
	}
}
