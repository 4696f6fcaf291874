package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/vpngw/vpngw/internal/store"
)

// Store is what the drain needs of the store.
type Store interface {
	Unsent(ctx context.Context, limit int) ([]store.Event, error)
	MarkSent(ctx context.Context, seqs []int64) error
}

// Message is one event to publish.
type Message struct {
	ID   string
	Type string
	Body []byte
}

// Publisher publishes one message and returns once the broker acknowledged it.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, m Message) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, m Message) error { return f(ctx, m) }

// Drainer publishes unsent events in outbox order.
type Drainer struct {
	store Store
	pub   Publisher
	log   *slog.Logger
	batch int
	mu    sync.Mutex // one drain at a time per process keeps the order
}

// New builds a Drainer.
func New(st Store, pub Publisher, log *slog.Logger) (*Drainer, error) {
	if st == nil || pub == nil {
		return nil, errors.New("outbox: store and publisher are required")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Drainer{store: st, pub: pub, log: log, batch: 100}, nil
}

// Drain publishes until the outbox is empty or a publish fails. It stops at
// the first failure, so events are never published out of order; what is
// left waits for the next drain. It returns how many events it published.
// Two drains running at once (two instances) may publish an event twice; the
// event keeps its id, so consumers and JetStream drop the duplicate.
func (d *Drainer) Drain(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	total := 0
	for {
		evs, err := d.store.Unsent(ctx, d.batch)
		if err != nil {
			return total, fmt.Errorf("read outbox: %w", err)
		}
		if len(evs) == 0 {
			return total, nil
		}
		var sent []int64
		var perr error
		for _, e := range evs {
			if perr = d.pub.Publish(ctx, Message{ID: e.ID, Type: e.Type, Body: e.Body}); perr != nil {
				perr = fmt.Errorf("publish %s %s: %w", e.Type, e.ID, perr)
				break
			}
			sent = append(sent, e.Seq)
		}
		if len(sent) > 0 {
			if err := d.store.MarkSent(ctx, sent); err != nil {
				// Published but not marked: the next drain republishes
				// them under the same ids.
				return total, fmt.Errorf("mark outbox sent: %w", err)
			}
			total += len(sent)
		}
		if perr != nil {
			return total, perr
		}
		if len(evs) < d.batch {
			return total, nil
		}
	}
}
