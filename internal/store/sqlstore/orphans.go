package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

var _ store.Orphans = (*Store)(nil)

// OrphanCandidates implements store.Orphans.
func (s *Store) OrphanCandidates(ctx context.Context, failedSince, checkedBefore time.Time, limit int) ([]store.Request, error) {
	q := `SELECT ` + requestColumns + ` FROM requests
		WHERE state = ? AND kind = ? AND orphaned_at IS NULL AND (gateway_id <> '' OR attempts > 0)
		AND updated_at >= ? AND (orphan_checked_at IS NULL OR orphan_checked_at < ?)
		ORDER BY updated_at, request_key LIMIT ?`
	return s.queryRequests(ctx, "read orphan candidates in", q, string(store.Failed), kindCreate,
		s.d.timeArg(failedSince), s.d.timeArg(checkedBefore), limit)
}

// OrphanChecked implements store.Orphans.
func (s *Store) OrphanChecked(ctx context.Context, keys []string, at time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(keys, maxBatch) {
			args := []any{s.d.timeArg(at)}
			for _, k := range chunk {
				args = append(args, k)
			}
			_, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE requests SET orphan_checked_at = ?
				WHERE request_key IN (`+marks(len(chunk))+`)`), args...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record orphan check in %s: %w", s.desc, err)
	}
	return nil
}

// MarkOrphaned implements store.Orphans.
func (s *Store) MarkOrphaned(ctx context.Context, key, gatewayID string, at time.Time, n store.Note, events []store.Event) error {
	if err := checkEvents(key, events); err != nil {
		return fmt.Errorf("store: mark %s orphaned: %w", key, err)
	}
	nt := note(ctx, n, "")
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		w := s.in(tx)
		res, err := w.ExecContext(ctx, s.d.rebind(`UPDATE requests SET orphaned_at = ?,
			gateway_id = CASE WHEN gateway_id = '' THEN ? ELSE gateway_id END
			WHERE request_key = ? AND state = ? AND orphaned_at IS NULL`),
			s.d.timeArg(at), gatewayID, key, string(store.Failed))
		if err != nil {
			return err
		}
		if c, err := res.RowsAffected(); err != nil {
			return err
		} else if c == 0 {
			return store.ErrConflict
		}
		if err := s.insertEvents(ctx, w, key, events, now); err != nil {
			return err
		}
		return s.appendHistory(ctx, w, key, store.Failed, gatewayID, nt, now, false)
	})
	if err != nil {
		return fmt.Errorf("store: mark %s orphaned in %s: %w", key, s.desc, invalidValue(err))
	}
	return nil
}

// ListOrphans implements store.Orphans.
func (s *Store) ListOrphans(ctx context.Context, limit int) ([]store.Orphan, error) {
	q := `SELECT ` + requestColumns + `, orphaned_at FROM requests WHERE orphaned_at IS NOT NULL
		ORDER BY orphaned_at, request_key LIMIT ?`
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(q), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list orphans in %s: %w", s.desc, err)
	}
	out, err := scanAll(rows, func(row scanner) (store.Orphan, error) {
		var at timeScan
		r, err := scanRequest(withLast(row, &at))
		return store.Orphan{Request: r, OrphanedAt: at.t}, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list orphans in %s: %w", s.desc, err)
	}
	return out, nil
}

// withLast scans one more column after a request's columns, into last.
func withLast(row scanner, last any) scanner { return lastScanner{row, last} }

type lastScanner struct {
	row  scanner
	last any
}

func (l lastScanner) Scan(dest ...any) error { return l.row.Scan(append(dest, l.last)...) }
