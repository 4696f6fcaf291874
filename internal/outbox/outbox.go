package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// Store is what the drain needs of the store.
type Store interface {
	Unsent(ctx context.Context, limit int) ([]store.Event, error)
	MarkSent(ctx context.Context, seqs []int64) error
	Park(ctx context.Context, seq int64, reason string) error
	CountParked(ctx context.Context) (int, error)
	Parked(ctx context.Context, limit int) ([]store.Event, error)
	Unpark(ctx context.Context, seqs []int64) (int, error)
}

// ErrRefused is what a Publisher's error wraps when the broker refused the
// message for good (larger than it takes, no queue bound for its type): the
// same message would be refused on every retry. The drain parks such an
// event and goes on with the next; any other error stops the drain, to be
// retried in order.
var ErrRefused = errors.New("outbox: the broker refused the event for good")

// ErrUnrouted is what a Publisher's error wraps, besides ErrRefused, when
// the broker refused the message because nothing takes its type yet (AMQP
// 312 NO_ROUTE, no JetStream stream for its subject). Such a refusal may end
// without an operator (a consumer deployed later, an exclusive queue back
// after a restart), so the event is parked and offered again by Reoffer,
// with backoff.
var ErrUnrouted = errors.New("outbox: nothing takes the event type yet")

// Re-offer backoff of an unrouted event: a minute after it was parked, then
// twice as long after each refusal, at most an hour.
const (
	ReofferFirst = time.Minute
	ReofferMax   = time.Hour
)

// reofferMark starts the parked reason of an unrouted event; the number of
// earlier re-offers and the time of the next one follow, so that any
// instance's Reoffer can tell when it is due: "unrouted, re-offer 2 at
// 2026-11-25T10:04:00Z: <the broker's refusal>".
const reofferMark = "unrouted, re-offer "

// Report is what one drain did.
type Report struct {
	Published int // events the broker acknowledged
	Parked    int // events set aside in the store because the broker refused them for good
}

// Publisher publishes one event and returns once the broker acknowledged it.
type Publisher interface {
	Publish(ctx context.Context, e outgoing.Event) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, e outgoing.Event) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, e outgoing.Event) error { return f(ctx, e) }

// Drainer publishes unsent events in outbox order.
type Drainer struct {
	store Store
	pub   Publisher
	log   *slog.Logger
	batch int
	now   func() time.Time
	mu    sync.Mutex // one drain at a time per process keeps the order
	// reoffered holds the earlier re-offers of the events Reoffer returned
	// to the outbox, so that a refusal again waits longer.
	reoffered map[int64]int
}

// Option configures a Drainer.
type Option func(*Drainer)

// WithClock sets the clock re-offers are scheduled by.
func WithClock(now func() time.Time) Option { return func(d *Drainer) { d.now = now } }

// New builds a Drainer.
func New(st Store, pub Publisher, log *slog.Logger, opts ...Option) (*Drainer, error) {
	if st == nil || pub == nil {
		return nil, errors.New("outbox: store and publisher are required")
	}
	if log == nil {
		log = slog.Default()
	}
	d := &Drainer{store: st, pub: pub, log: log, batch: 100, now: time.Now, reoffered: map[int64]int{}}
	for _, o := range opts {
		o(d)
	}
	return d, nil
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
			err := d.pub.Publish(ctx, e.Event)
			if err == nil {
				sent = append(sent, e.Seq)
				delete(d.reoffered, e.Seq)
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
	reason = strings.TrimPrefix(reason, ErrUnrouted.Error()+": ")
	if errors.Is(refusal, ErrUnrouted) {
		n := d.reoffered[e.Seq]
		delete(d.reoffered, e.Seq)
		wait := ReofferMax
		if n < 7 && ReofferFirst<<n < ReofferMax {
			wait = ReofferFirst << n
		}
		reason = fmt.Sprintf("%s%d at %s: %s", reofferMark, n, d.now().Add(wait).UTC().Format(time.RFC3339), reason)
	}
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

// reofferLimit bounds the parked events one Reoffer looks at.
const reofferLimit = 100

// Reoffer returns to the outbox the parked unrouted events (ErrUnrouted)
// whose next re-offer is due, for the next Drain to publish in their place;
// it returns how many. An event refused for its size stays parked: the
// same bytes are refused every time. Only the first reofferLimit parked
// events are looked at.
func (d *Drainer) Reoffer(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	parked, err := d.store.Parked(ctx, reofferLimit)
	if err != nil {
		return 0, fmt.Errorf("read parked events: %w", err)
	}
	now := d.now()
	clear(d.reoffered)
	var seqs []int64
	for _, e := range parked {
		n, due, ok := reofferDue(e.ParkedReason)
		if !ok || now.Before(due) {
			continue
		}
		seqs = append(seqs, e.Seq)
		d.reoffered[e.Seq] = n + 1
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	n, err := d.store.Unpark(ctx, seqs)
	if err != nil {
		clear(d.reoffered)
		return 0, fmt.Errorf("re-offer %d parked events: %w", len(seqs), err)
	}
	d.log.InfoContext(ctx, "unrouted outbox events offered to the broker again", "count", n)
	return n, nil
}

// reofferDue reads the re-offers so far and the next one's time from a
// parked reason written by park; ok is false for any other reason.
func reofferDue(reason string) (n int, due time.Time, ok bool) {
	rest, found := strings.CutPrefix(reason, reofferMark)
	if !found {
		return 0, time.Time{}, false
	}
	num, rest, found := strings.Cut(rest, " at ")
	if !found {
		return 0, time.Time{}, false
	}
	stamp, _, found := strings.Cut(rest, ": ")
	if !found {
		return 0, time.Time{}, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, time.Time{}, false
	}
	due, err = time.Parse(time.RFC3339, stamp)
	if err != nil {
		return 0, time.Time{}, false
	}
	return n, due, true
}
