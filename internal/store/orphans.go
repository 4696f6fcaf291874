package store

import (
	"context"
	"time"
)

// Orphan is a create request announced failed whose gateway was found to
// exist all the same (io.vpngw.gateway.orphaned): GatewayID names it.
type Orphan struct {
	Request
	// OrphanedAt is when reconcile found the gateway and announced it.
	OrphanedAt time.Time
}

// Orphans is what the watch over failed requests' gateways needs of a
// store (sqlstore implements it). A candidate is a create request in state
// Failed that reached the API (a gateway id, or at least one
// CreateVpnGateway attempt), not yet announced orphaned.
type Orphans interface {
	// OrphanCandidates returns up to limit candidates failed (last
	// updated) at or after failedSince whose gateway was last looked for
	// before checkedBefore, or never; oldest failure first.
	OrphanCandidates(ctx context.Context, failedSince, checkedBefore time.Time, limit int) ([]Request, error)
	// OrphanChecked records that the gateways of the requests with keys
	// were looked for at at.
	OrphanChecked(ctx context.Context, keys []string, at time.Time) error
	// MarkOrphaned records that the failed request with key has a gateway,
	// gatewayID (kept as its gateway id when it had none), with the
	// history entry n and the outbox events, in one transaction; the
	// request stays Failed. ErrConflict when it is no longer Failed or was
	// already marked: it is announced once.
	MarkOrphaned(ctx context.Context, key, gatewayID string, at time.Time, n Note, events []Event) error
	// ListOrphans returns up to limit requests marked orphaned, in the
	// order they were marked, whatever their state since (Deleted once
	// their gateway was deleted).
	ListOrphans(ctx context.Context, limit int) ([]Orphan, error)
}
