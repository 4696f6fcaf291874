package outbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/store"
)

// TestDrainRoutesByRequest: a request routed to named sinks reaches those
// alone; one routed nowhere reaches every unnamed sink; one routed to a
// name no sink has any more (renamed since) reaches the unnamed sinks
// rather than none; a sink marked Every gets them all. Every event is
// settled once each sink has drained.
func TestDrainRoutesByRequest(t *testing.T) {
	ctx := context.Background()
	s, _ := seed(t, 0)
	now := time.Now()
	for _, r := range []struct {
		key   string
		sinks []string
	}{{"plain", nil}, {"tickets", []string{"tickets"}}, {"both", []string{"tickets", "finance"}}, {"gone", []string{"renamed"}}} {
		insert(t, s, now, r.key, "e-"+r.key, "t", []byte("{}"), r.sinks...)
	}
	first, unnamed, tickets, finance, every := &sinkFake{}, &sinkFake{}, &sinkFake{}, &sinkFake{}, &sinkFake{}
	d, err := outbox.NewSinks(s, []outbox.Sink{
		{Name: store.FirstSink, Pub: first},
		{Name: "nats://x/y", Pub: unnamed},
		{Name: "https://t/#1", Pub: tickets, As: "tickets"},
		{Name: "kafka://f/t", Pub: finance, As: "finance"},
		{Name: "chat", Pub: every, Every: true},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    *sinkFake
		want []string
	}{
		{"first (unnamed)", first, []string{"e-plain", "e-gone"}},
		{"second unnamed", unnamed, []string{"e-plain", "e-gone"}},
		{"tickets", tickets, []string{"e-tickets", "e-both"}},
		{"finance", finance, []string{"e-both"}},
		{"every", every, []string{"e-plain", "e-tickets", "e-both", "e-gone"}},
	} {
		if got := c.f.got(); !slices.Equal(got, c.want) {
			t.Errorf("sink %s got %v, want %v", c.name, got, c.want)
		}
	}
	if rep.Published != 2+2+2+1+4 {
		t.Errorf("Published = %d, want 11: an event routed past a sink is not published there", rep.Published)
	}
	if left, err := s.Unsent(ctx, 10); err != nil || len(left) != 0 {
		t.Errorf("Unsent after one drain = %d, %v; want every event settled", len(left), err)
	}
	if _, err := outbox.NewSinks(s, []outbox.Sink{{Name: store.FirstSink, Pub: first, As: "a"}, {Name: "x", Pub: unnamed, As: "a"}}, nil); err == nil {
		t.Error("NewSinks with two sinks called \"a\" succeeded, want a refusal")
	}
}
