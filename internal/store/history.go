package store

import (
	"context"
	"time"
)

// Actor is who changed a request's state, as its history says.
type Actor string

// Actors.
const (
	// ActorProvision: the provision use case, for a request the event bus
	// (or the HTTP intake) delivered.
	ActorProvision Actor = "provision"
	// ActorWebhook: the provision use case, for a request a webhook route
	// authenticated (the record's Caller is set).
	ActorWebhook Actor = "webhook"
	// ActorReconcile: the reconcile tick (an outcome, a re-drive, a batch
	// finished).
	ActorReconcile Actor = "reconcile"
	// ActorOperator: an operator, through vpngwctl.
	ActorOperator Actor = "operator"
	// ActorMigration: the synthetic entry migration 0011 wrote for a
	// request recorded before the history was kept: its state then.
	ActorMigration Actor = "migration"
)

// Note is who makes a change of a request's state and why: what the
// change's entry in the request's history says. Reason is the API's code,
// the policy rule or the failure, in a sentence; at most MaxReason bytes
// are kept.
type Note struct {
	Actor  Actor
	Reason string
}

// MaxReason bounds HistoryEntry.Reason in bytes; a longer reason is cut at
// a character boundary.
const MaxReason = 1000

// HistoryEntry is one change of a request's state. The request's current
// state is its last entry's.
type HistoryEntry struct {
	Seq       int64 // orders the entries of one request
	At        time.Time
	State     State
	Actor     Actor
	Reason    string
	GatewayID string // the request's gateway after the change, if any
}

type actorKey struct{}

// WithActor says who acts in ctx: a Transition or Insert whose Note names
// no actor records this one. A use case sets it once for the work it does
// (reconcile for its tick, operator for vpngwctl), so that what it calls
// on its behalf (a re-drive through provision) is recorded as its.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor set on ctx, or "".
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
