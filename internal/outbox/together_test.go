package outbox_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// readCounter is the real store, counting the drain's reads of the outbox.
type readCounter struct {
	store.Store
	reads, marks atomic.Int64
}

func (c *readCounter) MarkSentFor(ctx context.Context, sink string, seqs []int64, sinks []string) error {
	c.marks.Add(1)
	return c.Store.MarkSentFor(ctx, sink, seqs, sinks)
}

func (c *readCounter) MarkSentEach(ctx context.Context, marks []store.SinkMarks, sinks []string) error {
	c.marks.Add(1)
	return c.Store.MarkSentEach(ctx, marks, sinks)
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
// once, not once per sink, when what it read is all either sink lacks, and
// marks what both acknowledged in one write;
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
	if n := c.marks.Load(); n != 1 {
		t.Errorf("the drain wrote %d marks, want one for both sinks", n)
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

// slowSink holds each publish until release is closed.
type slowSink struct {
	sinkFake
	release chan struct{}
}

func (f *slowSink) Publish(ctx context.Context, m outgoing.Event) error {
	select {
	case <-f.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return f.sinkFake.Publish(ctx, m)
}

// TestDrainTogetherDoesNotWaitForASlowSink: the marks are written together
// only while the sinks keep pace; a sink that takes long to publish does
// not hold back the others' marks: theirs are written while it still
// publishes, and its own once it is done.
func TestDrainTogetherDoesNotWaitForASlowSink(t *testing.T) {
	ctx := context.Background()
	st, want := seed(t, 2)
	a := &sinkFake{}
	b := &slowSink{release: make(chan struct{})}
	d, err := outbox.NewSinks(st, []outbox.Sink{{Name: store.FirstSink, Pub: a}, {Name: "b", Pub: b}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := d.Drain(ctx)
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := st.UnsentFor(ctx, store.FirstSink, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink a's events still unmarked while b publishes: %d left", len(left))
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := b.got(); !slices.Equal(got, want) {
		t.Errorf("sink b got %v, want %v", got, want)
	}
	if left, err := st.UnsentFor(ctx, "b", 10); err != nil || len(left) != 0 {
		t.Errorf("UnsentFor(b) after its publish = %v, %v, want none", left, err)
	}
}
