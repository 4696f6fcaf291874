package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
)

// TestReofferBacksOffAndLeavesTooLargeParked: an unrouted event is offered
// again a minute after it was parked, then after two, four... minutes while
// it is still refused, and published once the broker takes it; an event
// refused for its size is never offered again.
func TestReofferBacksOffAndLeavesTooLargeParked(t *testing.T) {
	ctx := context.Background()
	s, _ := seed(t, 0)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, typ := range []string{"unrouted", "large"} {
		insert(t, s, now, typ, "e-"+typ, typ, []byte("{}"))
	}
	routed := false
	var offers []time.Duration
	start := now
	pub := outbox.PublisherFunc(func(_ context.Context, m outgoing.Event) error {
		switch {
		case m.Type == "large":
			return fmt.Errorf("%w: too large", outbox.ErrRefused)
		case !routed:
			offers = append(offers, now.Sub(start))
			return fmt.Errorf("%w: %w: 312 NO_ROUTE", outbox.ErrRefused, outbox.ErrUnrouted)
		}
		return nil
	})
	d, err := outbox.New(s, pub, nil, outbox.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	tick := func() (int, outbox.Report) {
		n, err := d.Reoffer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := d.Drain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n, rep
	}
	for range 8 * 60 { // eight hours of minute ticks
		tick()
		now = now.Add(time.Minute)
	}
	want := []time.Duration{0, time.Minute, 3 * time.Minute, 7 * time.Minute, 15 * time.Minute, 31 * time.Minute, 63 * time.Minute,
		123 * time.Minute, 183 * time.Minute, 243 * time.Minute, 303 * time.Minute, 363 * time.Minute, 423 * time.Minute}
	if fmt.Sprint(offers) != fmt.Sprint(want) {
		t.Errorf("the unrouted event was offered at %v, want %v (doubling from a minute, at most hourly)", offers, want)
	}
	routed = true
	now = now.Add(time.Hour)
	if n, rep := tick(); n != 1 || rep.Published != 1 {
		t.Fatalf("once routed: re-offered %d, published %d; want the event published", n, rep.Published)
	}
	parked, err := s.Parked(ctx, 10)
	if err != nil || len(parked) != 1 || parked[0].Type != "large" {
		t.Fatalf("parked %+v, %v; want the too-large event alone", parked, err)
	}
}
