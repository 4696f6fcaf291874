package outbox_test

import (
	"context"
	"testing"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// An event a sink has no destination for (a chat reply of a request no
// chat made) is settled for that sink, and not counted as published.
func TestNotAddressedSettlesWithoutCounting(t *testing.T) {
	st, ids := seed(t, 3)
	first := &sinkFake{}
	none := outbox.PublisherFunc(func(context.Context, outgoing.Event) error { return outbox.ErrNotAddressed })
	d, err := outbox.NewSinks(st, []outbox.Sink{{Name: store.FirstSink, Pub: first}, {Name: "chat", Pub: none}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Drain(context.Background())
	if err != nil || rep.Published != len(ids) || rep.Parked != 0 {
		t.Fatalf("Drain = %+v, %v; want %d published (the first sink's) and nothing parked", rep, err, len(ids))
	}
	if left, err := st.UnsentFor(context.Background(), "chat", 10); err != nil || len(left) != 0 {
		t.Fatalf("chat sink still owes %d events (%v)", len(left), err)
	}
}
