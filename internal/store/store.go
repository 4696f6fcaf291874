package store

import (
	"context"
	"errors"
	"time"
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
)

// Terminal reports whether no further transition can happen from s.
func (s State) Terminal() bool { return s == Active || s == Failed || s == BatchDone || s == DryRun }

// Valid reports whether s is one of the states above.
func (s State) Valid() bool {
	switch s {
	case Received, Pending, Active, Failed, Batch, BatchDone, DryRun:
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
}

// Event is one outbox entry: a CloudEvent in structured JSON, waiting to be
// published. Seq orders the outbox (and so each request's events).
type Event struct {
	Seq        int64
	ID         string // the CloudEvent id: deterministic per request and outcome
	RequestKey string
	Type       string
	Body       []byte // application/cloudevents+json
	CreatedAt  time.Time
}

// Change is what Transition writes besides the new state. Zero fields are left
// as they are.
type Change struct {
	GatewayID  string
	OrderID    int64
	LastError  string
	AddAttempt bool
	AcceptedAt time.Time
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
	// CountSource counts the requests of one source in states; with a
	// non-zero acceptedSince, only those accepted at or after it.
	CountSource(ctx context.Context, source string, states []State, acceptedSince time.Time) (int, error)
	// Release ends owner's lease on the requests with keys, leaving their state.
	Release(ctx context.Context, owner string, keys []string) error
	// Unsent returns up to limit outbox events not yet marked sent, in Seq order.
	Unsent(ctx context.Context, limit int) ([]Event, error)
	// MarkSent marks the outbox events with seqs as published.
	MarkSent(ctx context.Context, seqs []int64) error
	// Close releases the store's connections.
	Close() error
}
