package store

import (
	"context"
	"time"
)

// Provisioned is what reconcile's schedule learns from: how long the
// gateways vpngw created recently took to turn active (sqlstore implements
// it).
type Provisioned interface {
	// ProvisionTimes returns, for up to limit create requests of region
	// that are Active and were recorded at or after since, newest first,
	// the time from their AcceptedAt to the entry of their history that
	// made them Active: how long CreateVpnGateway's gateway took to be seen
	// active, as the checks saw it (at most one check interval late).
	ProvisionTimes(ctx context.Context, region string, since time.Time, limit int) ([]time.Duration, error)
}
