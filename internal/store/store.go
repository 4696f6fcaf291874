package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
)

// State is where a request stands.
type State string

// Request states. Received and Pending are the only non-terminal ones.
const (
	// Received: recorded, CreateVpnGateway not yet known to have succeeded.
	// A redelivery (or the reconcile tick) re-drives it with the same ClientToken.
	Received State = "received"
	// Pending: CreateVpnGateway accepted; the gateway is being provisioned.
	Pending State = "pending"
	// Active: the gateway is ready. Terminal.
	Active State = "active"
	// Failed: the request will not produce a gateway. Terminal.
	Failed State = "failed"
	// Batch: the record of a batch request whose items are requests of their
	// own; it stays Batch until every item is terminal.
	Batch State = "batch"
	// BatchDone: every item of the batch is terminal and its summary was
	// written. Terminal.
	BatchDone State = "batch-done"
	// DryRun: a dry run was decided and answered; nothing was created.
	// Terminal.
	DryRun State = "dry-run"
	// Deleted: the gateway is gone. A delete request ends here once
	// DescribeVpnGateways no longer reports its gateway, and so does the
	// create request that made it. Terminal.
	Deleted State = "deleted"
)

// Kind is what a request asks for.
type Kind string

// Request kinds.
const (
	// KindCreate (the zero Kind): a gateway to create, or a batch of them.
	KindCreate Kind = ""
	// KindDelete: a gateway vpngw created, to delete. Its states are
	// Received (recorded, DeleteVpnGateway not yet known to have been
	// accepted), Pending (accepted; the gateway is being deleted), Deleted
	// and Failed.
	KindDelete Kind = "delete"
)

// Terminal reports whether no further transition can happen from s.
func (s State) Terminal() bool {
	return s == Active || s == Failed || s == BatchDone || s == DryRun || s == Deleted
}

// Valid reports whether s is one of the states above.
func (s State) Valid() bool {
	switch s {
	case Received, Pending, Active, Failed, Batch, BatchDone, DryRun, Deleted:
		return true
	}
	return false
}

// Sentinel errors every backend returns.
var (
	// ErrNotFound: no request with that key.
	ErrNotFound = errors.New("store: request not found")
	// ErrConflict: the request was not in a state the transition allows from,
	// or its lease belongs to another owner; someone else already moved it.
	ErrConflict = errors.New("store: request state changed concurrently")
	// ErrInvalidValue: the database refused a value as it was sent (too
	// long for its column, a character it cannot keep such as NUL in
	// PostgreSQL text). Writing it again fails the same way.
	ErrInvalidValue = errors.New("store: a value cannot be stored as sent")
)

// LearnedRate is an API rate learned from the API's throttling answers.
type LearnedRate struct {
	// PerSec is the rate, in calls a second, the API allowed when it last
	// throttled.
	PerSec float64
	// Since is when it was learned; ResumeAt when calls may start again
	// (the end of the window the API said it was throttling).
	Since, ResumeAt time.Time
	// Hold is how long PerSec is kept before the rate is probed upwards.
	Hold time.Duration
}

// Request is one recorded gateway request.
type Request struct {
	Key         string // request.Identity.Key(): unique
	Source      string
	EventID     string
	Subject     string
	ClientToken string
	RegionID    string
	VpcID       string
	Params      []byte // the request's data (events.GatewayRequest as JSON)
	State       State
	GatewayID   string
	OrderID     int64
	Attempts    int    // CreateVpnGateway attempts so far
	LastError   string // the last transient error, for operators
	CreatedAt   time.Time
	UpdatedAt   time.Time
	AcceptedAt  time.Time // when CreateVpnGateway succeeded (zero before)
	LeaseOwner  string
	LeaseUntil  time.Time
	// TraceParent is the request's W3C traceparent (55 characters, or
	// empty), passed on to every outcome event of the request.
	TraceParent string
	// Caller and ChatUser are who a webhook authenticated (empty for what
	// the event bus delivered), and DryRun the request's own dry-run flag:
	// the requester as the policy saw it. A batch keeps them for its items,
	// and a re-drive is decided again as this requester.
	Caller   string
	ChatUser string
	DryRun   bool
	// Origin is the rest of the requester, as provision encodes it: the
	// webhook key's name and what the platform stamped on an event-bus
	// delivery (its bus, route, account). Empty when there is none.
	Origin string
	// Data is the request's data as it arrived, before the policy added
	// its tags: what a re-drive is decided on. Nil when not kept (requests
	// recorded before it was).
	Data []byte
	// ItemScheme, on a batch's record, says how its items are named, so
	// that a batch is finished as it was begun: ItemsByIndex for batches
	// recorded before items had a form of their own, ItemsApart since.
	ItemScheme ItemScheme
	// Sinks are the names of the sinks the policy routes the request's
	// outcomes to (the deciding rule's sinks list); none sends them to
	// every unnamed sink. Each is a name of VPNGW_QUEUE_URL's name=url
	// entries, without commas (see SinkNameFormat).
	Sinks []string

	// Kind is what the request asks for: KindCreate (a gateway, or a
	// batch) or KindDelete (a gateway to delete, GatewayID; its ClientToken
	// is DeleteVpnGateway's and Params is the delete request's data).
	Kind Kind
	// ExpiresAt is when a create request's gateway is deleted by vpngw
	// (the request's vpngwexpires, resolved); zero for none.
	ExpiresAt time.Time
	// ExpiryWarned is the last expiry warning announced for the request.
	ExpiryWarned ExpiryWarning
	// Note is who records the request and why: Insert writes it as the
	// first entry of the request's history (see Change.Note). It is not
	// read back; History has it.
	Note Note
}

// ExpiryWarning is an expiry warning (io.vpngw.gateway.expiring) a
// request's gateway was announced, in the order they come.
type ExpiryWarning int

// Expiry warnings.
const (
	// NotWarned: no warning yet.
	NotWarned ExpiryWarning = 0
	// WarnedDay: the warning 24 hours before expiry.
	WarnedDay ExpiryWarning = 1
	// WarnedHour: the warning 1 hour before expiry.
	WarnedHour ExpiryWarning = 2
	// ExpiryRefused: the deletion at expiry was refused for good (its
	// delete request failed, which says why): Expiring no longer returns
	// the request.
	ExpiryRefused ExpiryWarning = 3
)

// ItemScheme is how a batch's items are named.
type ItemScheme int

// Item schemes.
const (
	// ItemsByIndex: "<event id>/<index>", keyed as an event with that id
	// would be (batches recorded before migration 0006).
	ItemsByIndex ItemScheme = 0
	// ItemsApart: events.BatchItemID, keyed apart from every event.
	ItemsApart ItemScheme = 1
)

// Event is one outbox entry: an outgoing event waiting to be published, with
// its place in the outbox. Seq orders the outbox (and so each request's
// events).
type Event struct {
	Seq        int64
	RequestKey string // the Request.Key of the request that owes the event
	outgoing.Event
	CreatedAt time.Time
	// ParkedAt and ParkedReason are set on an event parked because the
	// broker refused it for good (Park); Unsent never returns one.
	ParkedAt     time.Time
	ParkedReason string
	// Sinks is the owing request's Request.Sinks, read with the event by
	// UnsentFor: the sinks its outcomes are routed to, none for every
	// unnamed sink.
	Sinks []string
	// Reply is the owing request's chat reply address, read with the
	// event by UnsentAfter and UnsentForEach (ReplyRead says so): nil when
	// its request came from no chat. The chat replies' sink then needs no
	// read of its own.
	Reply     *ChatReply
	ReplyRead bool
}

// UnsentEach is what UnsentForEach read: the first unsettled events of the
// outbox, read once for several sinks.
type UnsentEach struct {
	// Of holds, for each sink asked about and in the order asked, the
	// events read that the sink has neither acknowledged nor parked, in Seq
	// order.
	Of [][]Event
	// Last is the Seq of the last event read, 0 when none was: every event
	// a sink lacks up to Last is in its list.
	Last int64
	// Read is how many events were read. Fewer than the limit means that
	// each sink's list is all it lacks.
	Read int
}

// SinkMarks is one sink's part of MarkSentEach: the seqs it acknowledged.
type SinkMarks struct {
	Sink string
	Seqs []int64
}

// MaxParkedReason bounds Event.ParkedReason in bytes; Park keeps the first
// MaxParkedReason bytes of a longer reason, cut at a character boundary.
const MaxParkedReason = 1000

// Change is what Transition writes besides the new state. Zero fields are left
// as they are.
type Change struct {
	GatewayID  string
	OrderID    int64
	LastError  string
	AddAttempt bool
	AcceptedAt time.Time
	// Note is who makes the change and why, written in the request's
	// history in the same transaction. An empty Actor is ActorFrom the
	// call's context; an empty Reason is LastError. A change that leaves
	// the state as it was, by the same actor for the same reason as the
	// last entry, adds no entry (a retry failing as before).
	Note Note
}

// Inserted is what InsertMany answers for one request: the stored request,
// and whether the call created it.
type Inserted struct {
	Request Request
	Created bool
}

// Store is what every backend implements. Each method is atomic.
//
// Times are stored in UTC with microsecond precision: what a method returns
// is the stored value, so a time written with nanoseconds or in another zone
// comes back truncated to the microsecond and in UTC.
type Store interface {
	// Insert records r (with its outbox events) unless a request with r.Key
	// exists. It returns the stored request and whether this call created it.
	Insert(ctx context.Context, r Request, events []Event) (Request, bool, error)
	// InsertMany is Insert (without events) of every one of rs, in one
	// transaction: each request whose key exists is returned as it is,
	// created false, and the others are recorded. It returns one Inserted
	// per request, in rs's order. On an error nothing is recorded.
	InsertMany(ctx context.Context, rs []Request) ([]Inserted, error)
	// Get returns the request with key, or ErrNotFound.
	Get(ctx context.Context, key string) (Request, error)
	// GetMany returns those of the requests with keys that exist, in no
	// particular order.
	GetMany(ctx context.Context, keys []string) ([]Request, error)
	// Transition moves the request from one of from to to, applies c, clears
	// its lease and appends events to the outbox, all in one transaction.
	// If leaseOwner is not empty, the request must be leased by it.
	// ErrConflict if the request is not in one of from (or not leased by owner).
	Transition(ctx context.Context, key string, from []State, to State, leaseOwner string, c Change, events []Event) (Request, error)
	// Claim leases up to limit requests in one of states whose lease is free or
	// expired at now, oldest first, to owner until now+lease. Claims by
	// concurrent callers never overlap.
	Claim(ctx context.Context, states []State, owner string, now time.Time, lease time.Duration, limit int) ([]Request, error)
	// InsertWithin is Insert under a quota on r.Source, decided and recorded
	// in one atomic step: of concurrent calls for one source, on any number
	// of store handles, each counts what the others recorded. When a request
	// with r.Key exists it is returned as Insert would, without counting
	// (the request is already recorded, and does not count against itself).
	// Otherwise, when recording r would take the source past q, nothing is
	// written and the error is a *QuotaError with the counts. A zero q is
	// no quota.
	InsertWithin(ctx context.Context, r Request, events []Event, q Quota) (Request, bool, error)
	// CheckQuota applies q to the recorded request with key as InsertWithin
	// would if it were recorded now, leaving the request itself out of the
	// counts (a re-drive decided again under a changed policy): a
	// *QuotaError when its source's other requests leave no room,
	// ErrNotFound when there is no such request. It writes nothing.
	CheckQuota(ctx context.Context, key string, q Quota) error
	// Release ends owner's lease on the requests with keys, leaving their state.
	Release(ctx context.Context, owner string, keys []string) error
	// Hold leases the request with key to owner until until, unless another
	// owner's lease on it is in force at now; it reports whether owner holds
	// it, and ErrNotFound when there is no such request. A provision
	// invocation holds the batch it works on, so that a reconcile tick
	// (whose Claim skips leased requests) does not continue it meanwhile.
	Hold(ctx context.Context, key, owner string, now, until time.Time) (bool, error)
	// HeldUntil is when the first lease in force at now on a request in
	// state, by an owner other than owner, ends; zero when there is none.
	// A reconcile tick with nothing else to do stays for a batch another
	// invocation holds when that hold ends within the tick's own time.
	HeldUntil(ctx context.Context, state State, owner string, now time.Time) (time.Time, error)
	// LearnedRate returns the API rate learned for bucket (region and API
	// action) and whether there is one.
	LearnedRate(ctx context.Context, bucket string) (LearnedRate, bool, error)
	// SetLearnedRate records r as bucket's learned rate, for every instance
	// on the store; the last one set is the one in force.
	SetLearnedRate(ctx context.Context, bucket string, r LearnedRate) error
	// Unsent returns up to limit outbox events neither marked sent nor
	// parked, in Seq order.
	Unsent(ctx context.Context, limit int) ([]Event, error)
	// MarkSent marks the outbox events with seqs as published.
	MarkSent(ctx context.Context, seqs []int64) error
	// Park sets the unsent outbox event seq aside, with the broker's reason
	// (see MaxParkedReason): Unsent no longer returns it. Parking an event
	// already sent or parked, or an unknown seq, changes nothing.
	Park(ctx context.Context, seq int64, reason string) error
	// Parked returns up to limit parked, unsent outbox events in Seq order,
	// with when and why each was parked.
	Parked(ctx context.Context, limit int) ([]Event, error)
	// CountParked returns how many outbox events are parked and unsent.
	CountParked(ctx context.Context) (int, error)
	// Unpark returns the parked events with seqs to the outbox, to be
	// published by the next drain in their Seq order; it returns how many
	// it unparked.
	Unpark(ctx context.Context, seqs []int64) (int, error)
	// Per-sink delivery. VPNGW_QUEUE_URL may name several sinks; each has
	// its own delivery state, so that one sink down, slow or refusing
	// delays only itself. sink names a sink (FirstSink for the first);
	// sinks, where asked, lists every configured sink: an event every one of
	// them acknowledged or parked is settled and no drain reads it again.
	// The methods above are these for FirstSink as the only sink.

	// UnsentFor returns up to limit events the sink has neither
	// acknowledged nor parked, in Seq order.
	UnsentFor(ctx context.Context, sink string, limit int) ([]Event, error)
	// UnsentAfter is UnsentFor from the event after seq after on. Each
	// event comes with its request's chat reply address (Event.Reply).
	UnsentAfter(ctx context.Context, sink string, after int64, limit int) ([]Event, error)
	// UnsentForEach reads the first limit unsettled events once for every
	// one of sinks (a drain of several sinks), instead of one UnsentFor a
	// sink. A limit below 1 reads nothing. Each event comes with its
	// request's chat reply address (Event.Reply).
	UnsentForEach(ctx context.Context, sinks []string, limit int) (UnsentEach, error)
	// MarkSentFor records that the sink acknowledged the events with seqs.
	MarkSentFor(ctx context.Context, sink string, seqs []int64, sinks []string) error
	// MarkSentEach is MarkSentFor for several sinks at once, in one write
	// (a drain whose sinks acknowledged their events together).
	MarkSentEach(ctx context.Context, marks []SinkMarks, sinks []string) error
	// ParkFor sets the event seq aside for the sink alone, with its reason
	// (see MaxParkedReason). Parking an event the sink acknowledged or
	// parked, or an unknown seq, changes nothing.
	ParkFor(ctx context.Context, sink string, seq int64, reason string, sinks []string) error
	// ParkedFor returns up to limit events parked for the sink, in Seq
	// order, with when and why.
	ParkedFor(ctx context.Context, sink string, limit int) ([]Event, error)
	// CountParkedFor returns how many events are parked for the sink.
	CountParkedFor(ctx context.Context, sink string) (int, error)
	// UnparkFor returns the sink's parked events with seqs to its outbox,
	// for its next drain; the other sinks do not get them again. It returns
	// how many it unparked.
	UnparkFor(ctx context.Context, sink string, seqs []int64) (int, error)
	// CreatedGateway returns the create request whose gateway is
	// gatewayID (one vpngw created), or ErrNotFound when no create
	// request holds that gateway.
	CreatedGateway(ctx context.Context, gatewayID string) (Request, error)
	// Expiring returns up to limit active create requests whose ExpiresAt
	// is at or before before, soonest first, except those marked
	// ExpiryRefused.
	Expiring(ctx context.Context, before time.Time, limit int) ([]Request, error)
	// WarnExpiry records that the active request with key was warned w
	// and appends events to the outbox, in one transaction, unless it was
	// already warned w or later (or is no longer active): it reports
	// whether it did, so that each warning is announced once however many
	// callers race.
	WarnExpiry(ctx context.Context, key string, w ExpiryWarning, events []Event) (bool, error)
	// History returns the request's history, oldest first: one entry per
	// change of its state, written by Insert and Transition with the
	// change (ErrNotFound when there is no such request).
	History(ctx context.Context, key string) ([]HistoryEntry, error)
	// Close releases the store's connections.
	Close() error
}

// FirstSink names the first sink of VPNGW_QUEUE_URL in the store, whatever
// its URL: the delivery state a deployment with one sink had before sinks
// had names is the first sink's.
const FirstSink = ""

// Quota bounds the requests of one source that InsertWithin records. Zero
// fields are no bound. Only create requests count: a delete request takes
// nothing from its source's quota.
type Quota struct {
	// PerDay bounds the source's requests that CreateVpnGateway accepted at
	// or after Since, together with those Received: a received request may
	// be created at any moment, so it counts until it is settled. Failed
	// requests that never reached the API, dry runs and batch records do not
	// count.
	PerDay int
	// Since starts the PerDay window; required with PerDay.
	Since time.Time
	// Pending bounds the source's requests Received or Pending.
	Pending int
}

// Zero reports whether q bounds nothing.
func (q Quota) Zero() bool { return q.PerDay <= 0 && q.Pending <= 0 }

// QuotaError is InsertWithin's refusal: recording the request would take
// its source past the quota. PerDay and Pending are what the source had
// when the quota was applied, without the refused request; each is counted
// only when Quota sets its bound (0 otherwise).
type QuotaError struct {
	Source          string
	Quota           Quota
	PerDay, Pending int
}

// PerDayExceeded reports whether the per-day bound refused the request.
func (e *QuotaError) PerDayExceeded() bool { return e.Quota.PerDay > 0 && e.PerDay >= e.Quota.PerDay }

// PendingExceeded reports whether the pending bound refused the request.
func (e *QuotaError) PendingExceeded() bool {
	return e.Quota.Pending > 0 && e.Pending >= e.Quota.Pending
}

func (e *QuotaError) Error() string {
	msg := fmt.Sprintf("store: source %q is at its quota:", e.Source)
	if e.PerDayExceeded() {
		msg += fmt.Sprintf(" %d requests accepted since %s or not yet settled, at most %d;", e.PerDay, e.Quota.Since.UTC().Format(time.RFC3339), e.Quota.PerDay)
	}
	if e.PendingExceeded() {
		msg += fmt.Sprintf(" %d requests received or pending, at most %d;", e.Pending, e.Quota.Pending)
	}
	return msg[:len(msg)-1]
}
