package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// CountSource counts the requests of one source in states; with a non-zero
// acceptedSince, only those CreateVpnGateway accepted at or after it. The
// operator policy's quotas read it.
func (s *Store) CountSource(ctx context.Context, source string, states []store.State, acceptedSince time.Time) (int, error) {
	q := `SELECT COUNT(*) FROM requests WHERE source = ?`
	args := []any{source}
	if len(states) > 0 {
		q += ` AND state IN (` + marks(len(states)) + `)`
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	if !acceptedSince.IsZero() {
		q += ` AND accepted_at >= ?`
		args = append(args, s.d.timeArg(acceptedSince))
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, s.d.rebind(q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count requests of %q in %s: %w", source, s.desc, err)
	}
	return n, nil
}
