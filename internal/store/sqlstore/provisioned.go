package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

var _ store.Provisioned = (*Store)(nil)

// ProvisionTimes implements store.Provisioned. It reads the claim index
// (state, created_at) backwards from the newest active request, and each
// request's history by its key.
func (s *Store) ProvisionTimes(ctx context.Context, region string, since time.Time, limit int) ([]time.Duration, error) {
	q := `SELECT r.accepted_at,
			(SELECT MIN(h.at) FROM request_history h WHERE h.request_key = r.request_key AND h.state = ? AND h.actor <> ?)
		FROM requests r
		WHERE r.state = ? AND r.created_at >= ? AND r.region_id = ? AND r.kind = ? AND r.accepted_at IS NOT NULL
		ORDER BY r.created_at DESC, r.request_key DESC LIMIT ?`
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(q), string(store.Active), string(store.ActorMigration), string(store.Active),
		s.d.timeArg(since), region, kindCreate, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read provisioning times in %s: %w", s.desc, err)
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var accepted, active timeScan
		if err := rows.Scan(&accepted, &active); err != nil {
			return nil, fmt.Errorf("store: read provisioning times in %s: %w", s.desc, err)
		}
		if active.t.IsZero() || active.t.Before(accepted.t) {
			continue // no Active entry of its own (recorded before the history was kept)
		}
		out = append(out, active.t.Sub(accepted.t))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read provisioning times in %s: %w", s.desc, err)
	}
	return out, nil
}
