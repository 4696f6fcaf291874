package outbox_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/store"
)

// readCounter is the real store, counting the drain's reads of the outbox.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (c *readCounter) UnsentAfter(ctx context.Context, sink string, after int64, limit int) ([]store.Event, error) {
	c.reads.Add(1)
	return c.Store.UnsentAfter(ctx, sink, after, limit)
}

func (c *readCounter) UnsentForEach(ctx context.Context, sinks []string, limit int) (store.UnsentEach, error) {
	c.reads.Add(1)
	return c.Store.UnsentForEach(ctx, sinks, limit)
}

// TestDrainReadsOnceForEverySink: a drain of two sinks reads the outbox
// once, not once per sink, when what it read is all either sink lacks;
// each sink still gets every event it has not taken, in order, and an
// event both took is settled.
func TestDrainReadsOnceForEverySink(t *testing.T) {
	ctx := context.Background()
	st, want := seed(t, 3)
	c := &readCounter{Store: st}
	a, b := &sinkFake{}, &sinkFake{}
	sinks := []outbox.Sink{{Name: store.FirstSink, Pub: a}, {Name: "b", Pub: b}}
	// Sink b took the first event already (an earlier drain).
	first, err := st.UnsentFor(ctx, "b", 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("UnsentFor(b) = %v, %v", first, err)
	}
	if err := st.MarkSentFor(ctx, "b", []int64{first[0].Seq}, []string{store.FirstSink, "b"}); err != nil {
		t.Fatal(err)
	}
	d, err := outbox.NewSinks(c, sinks, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.reads.Load(); n != 1 {
		t.Errorf("the drain read the outbox %d times, want once for both sinks", n)
	}
	if got := a.got(); !slices.Equal(got, want) {
		t.Errorf("sink a got %v, want %v", got, want)
	}
	if got := b.got(); !slices.Equal(got, want[1:]) {
		t.Errorf("sink b got %v, want %v: the first it had taken already", got, want[1:])
	}
	for _, k := range []string{store.FirstSink, "b"} {
		if left, err := st.UnsentFor(ctx, k, 10); err != nil || len(left) != 0 {
			t.Errorf("UnsentFor(%q) after the drain = %v, %v, want none", k, left, err)
		}
	}
}

// TestDrainTogetherReadsOnPastABatch: when the shared read fills the batch,
// each sink reads on by itself after it, and still gets everything in order.
func TestDrainTogetherReadsOnPastABatch(t *testing.T) {
	ctx := context.Background()
	st, want := seed(t, 7)
	a, b := &sinkFake{}, &sinkFake{}
	d, err := outbox.NewSinks(st, []outbox.Sink{{Name: store.FirstSink, Pub: a}, {Name: "b", Pub: b}}, nil, outbox.WithBatch(3))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Published != 14 {
		t.Errorf("published %d, want 14 (7 to each sink)", rep.Published)
	}
	for name, f := range map[string]*sinkFake{"a": a, "b": b} {
		if got := f.got(); !slices.Equal(got, want) {
			t.Errorf("sink %s got %v, want %v", name, got, want)
		}
	}
}
