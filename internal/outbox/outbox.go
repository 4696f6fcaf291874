package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// Store is what the drain needs of the store: delivery state per sink.
type Store interface {
	UnsentAfter(ctx context.Context, sink string, after int64, limit int) ([]store.Event, error)
	UnsentForEach(ctx context.Context, sinks []string, limit int) (store.UnsentEach, error)
	MarkSentFor(ctx context.Context, sink string, seqs []int64, sinks []string) error
	MarkSentEach(ctx context.Context, marks []store.SinkMarks, sinks []string) error
	ParkFor(ctx context.Context, sink string, seq int64, reason string, sinks []string) error
	CountParkedFor(ctx context.Context, sink string) (int, error)
	ParkedFor(ctx context.Context, sink string, limit int) ([]store.Event, error)
	UnparkFor(ctx context.Context, sink string, seqs []int64) (int, error)
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

// ErrNotAddressed is what a Publisher returns for an event that has no
// destination at its sink (a chat reply for a request no chat made): the
// event is settled for that sink without being counted as published.
var ErrNotAddressed = errors.New("outbox: the event has no destination at this sink")

// ErrDeferred is what a Publisher's error wraps when one destination within
// the sink (a chat conversation) asked to be left alone for a while: the
// event stays unsent for the sink, and the drain goes on with the next
// events, which the publisher defers too when they are that destination's,
// so that its order holds. The sink's other destinations are not held back.
var ErrDeferred = errors.New("outbox: the event's destination asked to wait")

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

// StoredPublisher is a Publisher that takes an event as the store read it,
// with what the read brought beside it (its request's chat reply address,
// store.Event.Reply), so that it need not read that again: the drain hands
// it each event so. e.Event.Key is set as Publish's would be.
type StoredPublisher interface {
	Publisher
	PublishStored(ctx context.Context, e store.Event) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, e outgoing.Event) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, e outgoing.Event) error { return f(ctx, e) }

// Sink is one destination of VPNGW_QUEUE_URL: its name in the store
// (store.FirstSink for the first) and its publisher.
type Sink struct {
	Name string
	Pub  Publisher
	// As is the operator's name for the sink (VPNGW_QUEUE_URL's name=url),
	// which a policy rule's sinks route by; "" for an unnamed sink.
	As string
	// Every makes the sink take every event whatever the routing (the
	// chat replies' destination, which settles itself what no chat asked).
	Every bool
}

// retryAfter is what a publisher's error offers when the sink said how long
// to leave it alone (HTTP 429 or 503 with Retry-After).
type retryAfter interface{ RetryAfter() time.Duration }

// Drainer publishes unsent events in outbox order, to every sink, each at
// its own pace.
type Drainer struct {
	store Store
	sinks []*sinkState
	names []string
	// named holds the operators' names of the sinks (Sink.As).
	named map[string]bool
	log   *slog.Logger
	batch int
	now   func() time.Time
}

// sinkState is one sink's drain.
type sinkState struct {
	Sink
	mu sync.Mutex // one drain at a time per sink and process keeps the order
	// notBefore is when the sink asked to be tried again (Retry-After).
	notBefore time.Time
	// reoffered holds the earlier re-offers of the events Reoffer returned
	// to the outbox, so that a refusal again waits longer.
	reoffered map[int64]int
}

// Option configures a Drainer.
type Option func(*Drainer)

// WithClock sets the clock re-offers are scheduled by.
func WithClock(now func() time.Time) Option { return func(d *Drainer) { d.now = now } }

// WithBatch sets how many events a drain reads from the store at a time
// (100 unless set; below 1 is ignored).
func WithBatch(n int) Option {
	return func(d *Drainer) {
		if n > 0 {
			d.batch = n
		}
	}
}

// New builds a Drainer with one sink, the first.
func New(st Store, pub Publisher, log *slog.Logger, opts ...Option) (*Drainer, error) {
	if pub == nil {
		return nil, errors.New("outbox: store and publisher are required")
	}
	return NewSinks(st, []Sink{{Name: store.FirstSink, Pub: pub}}, log, opts...)
}

// NewSinks builds a Drainer for several sinks, the first of which must be
// named store.FirstSink; names are unique.
func NewSinks(st Store, sinks []Sink, log *slog.Logger, opts ...Option) (*Drainer, error) {
	if st == nil || len(sinks) == 0 {
		return nil, errors.New("outbox: store and publisher are required")
	}
	if log == nil {
		log = slog.Default()
	}
	d := &Drainer{store: st, log: log, batch: 100, now: time.Now, named: map[string]bool{}}
	seen := map[string]bool{}
	for i, k := range sinks {
		switch {
		case k.Pub == nil:
			return nil, fmt.Errorf("outbox: sink %d (%q) has no publisher", i+1, k.Name)
		case i == 0 && k.Name != store.FirstSink:
			return nil, fmt.Errorf("outbox: the first sink must be named store.FirstSink, not %q", k.Name)
		case i > 0 && k.Name == store.FirstSink, seen[k.Name]:
			return nil, fmt.Errorf("outbox: sink %d is named %q like another: every sink needs a name of its own", i+1, k.Name)
		case k.As != "" && d.named[k.As]:
			return nil, fmt.Errorf("outbox: sink %d is called %q like another: routing needs every name once", i+1, k.As)
		}
		seen[k.Name] = true
		if k.As != "" {
			d.named[k.As] = true
		}
		d.sinks = append(d.sinks, &sinkState{Sink: k, reoffered: map[int64]int{}})
		d.names = append(d.names, k.Name)
	}
	for _, o := range opts {
		o(d)
	}
	return d, nil
}

// shown names a sink in logs and errors.
func shown(name string) string {
	if name == store.FirstSink {
		return "the first sink"
	}
	return name
}

// Drain publishes to every sink at once, each until its outbox is empty or
// a publish to it fails for a while (the sink down, a timeout): a sink down,
// slow or refusing delays only itself. Each sink stops at such a failure,
// so its events are never published out of order; what is left waits for
// the next drain, and a sink that answered with Retry-After is left alone
// until then. An event a sink refuses for good (ErrRefused) is parked for
// that sink alone, logged at error level and counted, and that sink goes on
// with the next: one event never holds back those behind it.
// Two drains running at once (two instances) may publish an event twice; the
// event keeps its id, so consumers and JetStream drop the duplicate.
func (d *Drainer) Drain(ctx context.Context) (Report, error) {
	if len(d.sinks) == 1 {
		return d.drainSink(ctx, d.sinks[0], nil)
	}
	firsts := d.readTogether(ctx)
	if firsts[0] != nil {
		j := &joint{d: d, ctx: ctx, want: len(d.sinks), done: make(chan struct{})}
		for _, f := range firsts {
			f.joint = j
		}
	}
	reps := make([]Report, len(d.sinks))
	errs := make([]error, len(d.sinks))
	var wg sync.WaitGroup
	for i, k := range d.sinks[1:] {
		wg.Go(func() { reps[i+1], errs[i+1] = d.drainSink(ctx, k, firsts[i+1]) })
	}
	// The first sink on the caller's goroutine: one goroutine fewer to
	// start, and to grow the stack of, on every drain.
	reps[0], errs[0] = d.drainSink(ctx, d.sinks[0], firsts[0])
	wg.Wait()
	var rep Report
	for i, r := range reps {
		rep.Published += r.Published
		rep.Parked += r.Parked
		if errs[i] != nil {
			errs[i] = fmt.Errorf("sink %s: %w", shown(d.sinks[i].Name), errs[i])
		}
	}
	return rep, errors.Join(errs...)
}

// firstBatch is a sink's part of the drain's one read for every sink
// (readTogether): the events it lacks up to last, and whether more may
// follow. The sink's lock is held for it.
type firstBatch struct {
	evs  []store.Event
	last int64
	more bool
	// joint marks the batch sent with the other sinks' (nil: alone).
	joint *joint
}

// jointGrace is how long the sinks that published their first batch wait
// for the others before each marks its own: a sink that takes longer
// holds back no one's marks but its own.
const jointGrace = 20 * time.Millisecond

// joint writes the marks of the sinks' first batches in one write of the
// store (MarkSentEach), where each sink wrote its own: after one request
// that was a transaction (SQLite) or a statement (PostgreSQL) per sink.
// Each sink hands in its marks once (mark); the last to do so writes them
// all, unless jointGrace passed since the first, when what was handed in
// is written then and the later sinks write their own.
type joint struct {
	d   *Drainer
	ctx context.Context

	mu    sync.Mutex
	want  int // sinks yet to hand in
	marks []store.SinkMarks
	gone  bool // the joint write is made or being made
	timer *time.Timer
	done  chan struct{} // closed once the joint write is made
	err   error
}

// mark hands in sink's acknowledged seqs and returns once they are
// marked, with the joint write's error. A sink with nothing to mark hands
// in none and does not wait.
func (j *joint) mark(ctx context.Context, sink string, seqs []int64) error {
	j.mu.Lock()
	if j.gone {
		j.mu.Unlock()
		if len(seqs) == 0 {
			return nil
		}
		return j.d.store.MarkSentFor(ctx, sink, seqs, j.d.names)
	}
	if len(seqs) > 0 {
		j.marks = append(j.marks, store.SinkMarks{Sink: sink, Seqs: seqs})
	}
	j.want--
	if j.want == 0 {
		j.gone = true
		if j.timer != nil {
			j.timer.Stop()
		}
		j.mu.Unlock()
		j.write()
		return j.err
	}
	if j.timer == nil {
		j.timer = time.AfterFunc(jointGrace, func() {
			j.mu.Lock()
			if j.gone {
				j.mu.Unlock()
				return
			}
			j.gone = true
			j.mu.Unlock()
			j.write()
		})
	}
	j.mu.Unlock()
	if len(seqs) == 0 {
		return nil
	}
	<-j.done
	return j.err
}

// write makes the joint write of what was handed in; it runs once.
func (j *joint) write() {
	if len(j.marks) > 0 {
		j.err = j.d.store.MarkSentEach(j.ctx, j.marks, j.d.names)
	}
	close(j.done)
}

// readTogether reads the outbox once for every sink, where each sink
// would read it once for itself: a drain after one request read it as
// many times as there are sinks. It does so only when no drain of another
// goroutine holds any of the sinks (a busy sink is not waited for: it
// delays only itself), and then returns each sink's first batch with the
// sink's lock held. Otherwise, or when the read fails, it returns nils and
// each sink reads for itself.
func (d *Drainer) readTogether(ctx context.Context) []*firstBatch {
	out := make([]*firstBatch, len(d.sinks))
	locked := 0
	unlock := func() {
		for _, k := range d.sinks[:locked] {
			k.mu.Unlock()
		}
	}
	for _, k := range d.sinks {
		if !k.mu.TryLock() {
			unlock()
			return out
		}
		locked++
	}
	got, err := d.store.UnsentForEach(ctx, d.names, d.batch)
	if err != nil || len(got.Of) != len(d.sinks) {
		unlock()
		return out
	}
	for i := range d.sinks {
		out[i] = &firstBatch{evs: got.Of[i], last: got.Last, more: got.Read >= d.batch}
	}
	return out
}

// drainSink is Drain for one sink. With first, the sink's lock is held
// already and its first batch read.
func (d *Drainer) drainSink(ctx context.Context, k *sinkState, first *firstBatch) (Report, error) {
	if first == nil {
		k.mu.Lock()
	}
	defer k.mu.Unlock()
	var rep Report
	if wait := k.notBefore.Sub(d.now()); wait > 0 {
		if first != nil && first.joint != nil {
			_ = first.joint.mark(ctx, k.Name, nil)
		}
		return rep, fmt.Errorf("the sink asked to be left alone for %s more (Retry-After)", wait.Round(time.Second))
	}
	var after int64 // the last event read: deferred ones stay behind it
	for {
		var (
			evs    []store.Event
			more   bool
			readTo int64 // every event the sink lacks up to it is in evs
			j      *joint
		)
		if first != nil {
			evs, more, readTo, j = first.evs, first.more, first.last, first.joint
			first = nil
			if j != nil && len(evs) == 0 {
				// Nothing of this sink's to mark: the others need not wait.
				_ = j.mark(ctx, k.Name, nil)
				j = nil
			}
		} else {
			var err error
			evs, err = d.store.UnsentAfter(ctx, k.Name, after, d.batch)
			if err != nil {
				return rep, fmt.Errorf("read outbox: %w", err)
			}
			more = len(evs) >= d.batch
		}
		if len(evs) == 0 && !more {
			return rep, nil
		}
		var sent []int64
		var perr error
		published := 0
		stored, _ := k.Pub.(StoredPublisher)
		// offered holds the requests an event of this read was offered
		// for: publishing it may change what was read beside their later
		// events (a chat reply address's uses), which are then handed over
		// without it, for the publisher to read afresh.
		var offered map[string]bool
		for _, e := range evs {
			after = e.Seq
			if !d.routes(k, e.Sinks) {
				// The policy sends the request's outcomes elsewhere: the
				// event is settled for this sink, unpublished.
				sent = append(sent, e.Seq)
				continue
			}
			ev := e.Event
			ev.Key = e.RequestKey
			var err error
			if stored != nil {
				se := e
				se.Event = ev
				if offered[e.RequestKey] {
					se.Reply, se.ReplyRead = nil, false
				}
				if offered == nil {
					offered = map[string]bool{}
				}
				offered[e.RequestKey] = true
				err = stored.PublishStored(ctx, se)
			} else {
				err = k.Pub.Publish(ctx, ev)
			}
			if err == nil || errors.Is(err, ErrNotAddressed) {
				sent = append(sent, e.Seq)
				delete(k.reoffered, e.Seq)
				if err == nil {
					published++
				}
				continue
			}
			if errors.Is(err, ErrDeferred) && ctx.Err() == nil {
				// Left unsent; the next drain offers it again first.
				continue
			}
			if errors.Is(err, ErrRefused) && ctx.Err() == nil {
				if perr = d.park(ctx, k, e, err); perr != nil {
					break
				}
				rep.Parked++
				continue
			}
			var ra retryAfter
			if errors.As(err, &ra) {
				k.notBefore = d.now().Add(ra.RetryAfter())
			}
			perr = fmt.Errorf("publish %s %s: %w", e.Type, e.ID, err)
			break
		}
		after = max(after, readTo)
		mark := d.store.MarkSentFor
		if j != nil {
			mark = func(ctx context.Context, sink string, seqs []int64, _ []string) error { return j.mark(ctx, sink, seqs) }
			if len(sent) == 0 {
				_ = j.mark(ctx, k.Name, nil)
			}
		}
		if len(sent) > 0 {
			if err := mark(ctx, k.Name, sent, d.names); err != nil {
				// Published but not marked: the next drain republishes
				// them under the same ids.
				return rep, fmt.Errorf("mark outbox sent: %w", err)
			}
			rep.Published += published
		}
		if perr != nil {
			return rep, perr
		}
		if !more {
			return rep, nil
		}
	}
}

// routes reports whether sink k takes the events of a request routed to
// the sinks named route. A route names the sinks that take them; no route
// sends them to every unnamed sink, and so does a route naming none of the
// sinks configured now (a sink renamed or removed since the request was
// decided), so that no outcome goes nowhere. A sink marked Every takes
// every event.
func (d *Drainer) routes(k *sinkState, route []string) bool {
	if k.Every {
		return true
	}
	for _, name := range route {
		if d.named[name] {
			return k.As != "" && slices.Contains(route, k.As)
		}
	}
	return k.As == ""
}

// park sets e aside with the broker's refusal and says so at error level,
// with what an operator needs to find and replay it.
func (d *Drainer) park(ctx context.Context, k *sinkState, e store.Event, refusal error) error {
	reason := strings.TrimPrefix(refusal.Error(), ErrRefused.Error()+": ")
	reason = strings.TrimPrefix(reason, ErrUnrouted.Error()+": ")
	if errors.Is(refusal, ErrUnrouted) {
		n := k.reoffered[e.Seq]
		delete(k.reoffered, e.Seq)
		wait := ReofferMax
		if n < 7 && ReofferFirst<<n < ReofferMax {
			wait = ReofferFirst << n
		}
		reason = fmt.Sprintf("%s%d at %s: %s", reofferMark, n, d.now().Add(wait).UTC().Format(time.RFC3339), reason)
	}
	if err := d.store.ParkFor(ctx, k.Name, e.Seq, reason, d.names); err != nil {
		return fmt.Errorf("park %s %s, refused by the broker (%s): %w", e.Type, e.ID, reason, err)
	}
	sink := sqlString(k.Name)
	d.log.ErrorContext(ctx, "outbox event parked for this sink: it refuses it for good; the events behind it are published, and the other sinks go on",
		"sink", shown(k.Name), "event_id", e.ID, "type", e.Type, "request_key", e.RequestKey, "seq", e.Seq, "bytes", len(e.Body), "reason", reason,
		"see", "SELECT d.seq, o.id, o.type, d.parked_at, d.parked_reason FROM outbox_deliveries d JOIN outbox o ON o.seq = d.seq WHERE d.sink = "+sink+" AND d.parked_at IS NOT NULL ORDER BY d.seq",
		"replay", fmt.Sprintf("once the sink takes it: DELETE FROM outbox_deliveries WHERE sink = %s AND seq = %d AND parked_at IS NOT NULL; UPDATE outbox SET sent_at = NULL, parked_at = NULL, parked_reason = '' WHERE seq = %d", sink, e.Seq, e.Seq))
	return nil
}

// Held returns how many events are parked in the store, whichever drain
// parked them (a provision invocation's, a tick's, another instance's), so
// a tick can say so for as long as they are there.
func (d *Drainer) Held(ctx context.Context) (int, error) {
	total := 0
	for _, k := range d.sinks {
		n, err := d.store.CountParkedFor(ctx, k.Name)
		if err != nil {
			return 0, fmt.Errorf("count parked events of sink %s: %w", shown(k.Name), err)
		}
		total += n
	}
	return total, nil
}

// sqlString quotes s as an SQL string literal, for the statements the
// logs suggest.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// reofferLimit bounds the parked events one Reoffer looks at.
const reofferLimit = 100

// Reoffer returns to the outbox the parked unrouted events (ErrUnrouted)
// whose next re-offer is due, for the next Drain to publish in their place;
// it returns how many. An event refused for its size stays parked: the
// same bytes are refused every time. Only the first reofferLimit parked
// events are looked at.
func (d *Drainer) Reoffer(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for _, k := range d.sinks {
		n, err := d.reofferSink(ctx, k)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("sink %s: %w", shown(k.Name), err))
		}
	}
	return total, errors.Join(errs...)
}

func (d *Drainer) reofferSink(ctx context.Context, k *sinkState) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	parked, err := d.store.ParkedFor(ctx, k.Name, reofferLimit)
	if err != nil {
		return 0, fmt.Errorf("read parked events: %w", err)
	}
	now := d.now()
	clear(k.reoffered)
	var seqs []int64
	for _, e := range parked {
		n, due, ok := reofferDue(e.ParkedReason)
		if !ok || now.Before(due) {
			continue
		}
		seqs = append(seqs, e.Seq)
		k.reoffered[e.Seq] = n + 1
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	n, err := d.store.UnparkFor(ctx, k.Name, seqs)
	if err != nil {
		clear(k.reoffered)
		return 0, fmt.Errorf("re-offer %d parked events: %w", len(seqs), err)
	}
	d.log.InfoContext(ctx, "unrouted outbox events offered to the sink again", "sink", shown(k.Name), "count", n)
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
