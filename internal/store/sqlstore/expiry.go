package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// Expiring implements store.Store.
func (s *Store) Expiring(ctx context.Context, before time.Time, limit int) ([]store.Request, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := `SELECT ` + requestColumns + ` FROM requests WHERE state = ? AND kind = ? AND expires_at IS NOT NULL AND expires_at <= ? AND expiry_warned < ?
		ORDER BY expires_at, request_key LIMIT ?`
	return s.queryRequests(ctx, "read expiring requests from", q, string(store.Active), kindCreate, s.d.timeArg(before), int(store.ExpiryRefused), limit)
}

// WarnExpiry implements store.Store.
func (s *Store) WarnExpiry(ctx context.Context, key string, w store.ExpiryWarning, events []store.Event) (bool, error) {
	if err := checkEvents(key, events); err != nil {
		return false, fmt.Errorf("store: warn %s of its expiry: %w", key, err)
	}
	now := s.now()
	var warned bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		q := s.in(tx)
		res, err := q.ExecContext(ctx, s.d.rebind(`UPDATE requests SET expiry_warned = ?, updated_at = ?
			WHERE request_key = ? AND state = ? AND expiry_warned < ?`),
			int(w), s.d.timeArg(now), key, string(store.Active), int(w))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		warned = true
		return s.insertEvents(ctx, q, key, events, now)
	})
	if err != nil {
		return false, fmt.Errorf("store: warn %s of its expiry in %s: %w", key, s.desc, err)
	}
	return warned, nil
}
