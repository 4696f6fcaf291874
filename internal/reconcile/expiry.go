package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/store"
)

// ExpiryStore is what the expiry step needs of the store.
type ExpiryStore interface {
	Expiring(ctx context.Context, before time.Time, limit int) ([]store.Request, error)
	WarnExpiry(ctx context.Context, key string, w store.ExpiryWarning, events []store.Event) (bool, error)
}

// Expirer deletes the gateway of an active create request past its expiry,
// as a delete request would (provision's Expire). refused says that the
// deletion was refused for good (its delete request failed, and its
// failed event says why).
type Expirer interface {
	Expire(ctx context.Context, create store.Request) (refused bool, err error)
}

// WithExpiry makes each tick warn of gateways about to expire and delete
// those that have (a create request's vpngwexpires).
func WithExpiry(st ExpiryStore, e Expirer) Option {
	return func(s *Service) { s.expiry, s.expirer = st, e }
}

// Expiry warnings: the first is announced within expiryDay of the
// expiry, the second within expiryHour.
const (
	expiryDay  = 24 * time.Hour
	expiryHour = time.Hour
	// expiryBatch bounds the requests one tick reads for expiry.
	expiryBatch = 500
)

// expire announces io.vpngw.gateway.expiring for each active gateway whose
// expiry is within 24 hours and then within 1 hour (once each, whichever
// tick and instance gets there first; a gateway whose life is shorter than
// a threshold gets only the nearer warning), and hands each one past its
// expiry to the expirer, which records a delete request for it.
func (s *Service) expire(ctx context.Context, log *slog.Logger, rep *Report) {
	now := s.now()
	due, err := s.expiry.Expiring(ctx, now.Add(expiryDay), expiryBatch)
	if err != nil {
		rep.Errors = append(rep.Errors, "read expiring requests: "+err.Error())
		return
	}
	for _, r := range due {
		if why := s.outOfTime(ctx); why != "" {
			rep.Stopped = why
			return
		}
		left := r.ExpiresAt.Sub(now)
		if left <= 0 {
			refused, err := s.expirer.Expire(ctx, r)
			if err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("delete expired %s: %v", r.Key, err))
				continue
			}
			if refused {
				// Not asked again on every tick: the operator settles it
				// (see docs/OPERATING.md).
				if _, err := s.expiry.WarnExpiry(ctx, r.Key, store.ExpiryRefused, nil); err != nil {
					rep.Errors = append(rep.Errors, fmt.Sprintf("mark %s's expiry refused: %v", r.Key, err))
				}
				log.WarnContext(ctx, "deletion at expiry refused", "request_key", r.Key, "gateway_id", r.GatewayID)
				continue
			}
			rep.Expired++
			continue
		}
		w, within := store.WarnedDay, events.ExpiringWithinDay
		if left <= expiryHour {
			w, within = store.WarnedHour, events.ExpiringWithinHour
		}
		if r.ExpiryWarned >= w {
			continue
		}
		e, err := outcome.New(events.TypeExpiring, outcome.Meta{RequestKey: r.Key, Subject: r.GatewayID, TraceParent: r.TraceParent, Time: now, Part: within},
			events.Expiring{
				Request:      events.RequestRef{Source: r.Source, EventID: r.EventID, Subject: r.Subject},
				VpnGatewayId: r.GatewayID, RegionId: r.RegionID,
				ExpiresAt: r.ExpiresAt.UTC().Format(time.RFC3339), Within: within,
			})
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		warned, err := s.expiry.WarnExpiry(ctx, r.Key, w, []store.Event{{RequestKey: r.Key, Event: e, CreatedAt: now}})
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("warn %s of its expiry: %v", r.Key, err))
			continue
		}
		if warned {
			rep.Expiring++
			log.InfoContext(ctx, "gateway expiring", "request_key", r.Key, "gateway_id", r.GatewayID, "expires_at", r.ExpiresAt, "within", within)
		}
	}
}
