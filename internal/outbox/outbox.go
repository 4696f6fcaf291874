package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/vpngw/vpngw/internal/store"
)

// Store is what the drain needs of the store.
type Store interface {
	Unsent(ctx context.Context, limit int) ([]store.Event, error)
	MarkSent(ctx context.Context, seqs []int64) error
	Park(ctx context.Context, seq int64, reason string) error
	CountParked(ctx context.Context) (int, error)
}

// ErrRefused is what a Publisher's error wraps when the broker refused the
// message for good (larger than it takes, no queue bound for its type): the
// same message would be refused on every retry. The drain parks such an
// event and goes on with the next; any other error stops the drain, to be
// retried in order.
var ErrRefused = errors.New("outbox: the broker refused the event for good")

// Report is what one drain did.
type Report struct {
	Published int // events the broker acknowledged
	Parked    int // events set aside in the store because the broker refused them for good
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

// Drain publishes until the outbox is empty or a publish fails for a while
// (the broker down, a timeout). It stops at such a failure, so events are
// never published out of order; what is left waits for the next drain. An
// event the broker refuses for good (ErrRefused) is parked in the store,
// logged at error level and counted, and the drain goes on with the next:
// one event never holds back those behind it.
// Two drains running at once (two instances) may publish an event twice; the
// event keeps its id, so consumers and JetStream drop the duplicate.
func (d *Drainer) Drain(ctx context.Context) (Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var rep Report
	for {
		evs, err := d.store.Unsent(ctx, d.batch)
		if err != nil {
			return rep, fmt.Errorf("read outbox: %w", err)
		}
		if len(evs) == 0 {
			return rep, nil
		}
		var sent []int64
		var perr error
		for _, e := range evs {
			err := d.pub.Publish(ctx, Message{ID: e.ID, Type: e.Type, Body: e.Body})
			if err == nil {
				sent = append(sent, e.Seq)
				continue
			}
			if errors.Is(err, ErrRefused) && ctx.Err() == nil {
				if perr = d.park(ctx, e, err); perr != nil {
					break
				}
				rep.Parked++
				continue
			}
			perr = fmt.Errorf("publish %s %s: %w", e.Type, e.ID, err)
			break
		}
		if len(sent) > 0 {
			if err := d.store.MarkSent(ctx, sent); err != nil {
				// Published but not marked: the next drain republishes
				// them under the same ids.
				return rep, fmt.Errorf("mark outbox sent: %w", err)
			}
			rep.Published += len(sent)
		}
		if perr != nil {
			return rep, perr
		}
		if len(evs) < d.batch {
			return rep, nil
		}
	}
}

// park sets e aside with the broker's refusal and says so at error level,
// with what an operator needs to find and replay it.
func (d *Drainer) park(ctx context.Context, e store.Event, refusal error) error {
	reason := strings.TrimPrefix(refusal.Error(), ErrRefused.Error()+": ")
	if err := d.store.Park(ctx, e.Seq, reason); err != nil {
		return fmt.Errorf("park %s %s, refused by the broker (%s): %w", e.Type, e.ID, reason, err)
	}
	d.log.ErrorContext(ctx, "outbox event parked: the broker refuses it for good; the events behind it are published",
		"event_id", e.ID, "type", e.Type, "request_key", e.RequestKey, "seq", e.Seq, "bytes", len(e.Body), "reason", reason,
		"see", "SELECT seq, id, type, parked_at, parked_reason FROM outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL ORDER BY seq",
		"replay", fmt.Sprintf("once the broker takes it: UPDATE outbox SET parked_at = NULL, parked_reason = '' WHERE seq = %d", e.Seq))
	return nil
}

// Held returns how many events are parked in the store, whichever drain
// parked them (a provision invocation's, a tick's, another instance's), so
// a tick can say so for as long as they are there.
func (d *Drainer) Held(ctx context.Context) (int, error) {
	n, err := d.store.CountParked(ctx)
	if err != nil {
		return 0, fmt.Errorf("count parked events: %w", err)
	}
	return n, nil
}
