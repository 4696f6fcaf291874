package outbox_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// conversations publishes like a chat destination: the requests in waiting
// belong to a conversation that asked to be left alone, and their events
// are deferred.
type conversations struct {
	mu      sync.Mutex
	waiting map[string]bool
	got     []string
}

func (c *conversations) Publish(_ context.Context, e outgoing.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waiting[e.Key] {
		return fmt.Errorf("conversation of %s: %w", e.Key, outbox.ErrDeferred)
	}
	c.got = append(c.got, e.ID)
	return nil
}

// One destination within a sink that asks to wait holds back only its own
// events: the drain goes past them (across pages), and they follow, in
// order, once it lets them.
func TestDeferredEventsHoldBackOnlyTheirDestination(t *testing.T) {
	ctx := context.Background()
	st, ids := seed(t, 7)
	chat := &conversations{waiting: map[string]bool{"k001": true, "k004": true}}
	d, err := outbox.NewSinks(st, []outbox.Sink{{Name: store.FirstSink, Pub: &sinkFake{}}, {Name: "chat", Pub: chat}}, nil, outbox.WithBatch(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if want := []string{ids[0], ids[2], ids[3], ids[5], ids[6]}; !slices.Equal(chat.got, want) {
		t.Fatalf("chat got %v while one conversation waited, want the others' %v", chat.got, want)
	}
	chat.mu.Lock()
	chat.waiting, chat.got = nil, nil
	chat.mu.Unlock()
	if _, err := d.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if want := []string{ids[1], ids[4]}; !slices.Equal(chat.got, want) {
		t.Fatalf("chat got %v once the conversation was let go, want %v in order", chat.got, want)
	}
	if left, err := st.UnsentFor(ctx, "chat", 10); err != nil || len(left) != 0 {
		t.Fatalf("chat still owes %d events (%v)", len(left), err)
	}
}
