package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/vpngw/vpngw/internal/store"
)

// InsertWithin implements store.Store. The quota decision and the record are
// one transaction that first locks the source's row in quota_locks
// (PostgreSQL and MySQL: SELECT … FOR UPDATE; SQLite: the IMMEDIATE write
// transaction already excludes every other writer), so that concurrent
// callers for one source, in this process or another, count one after the
// other and each sees what the one before recorded. Sources are locked
// apart: one source's requests never wait for another's.
func (s *Store) InsertWithin(ctx context.Context, r store.Request, events []store.Event, q store.Quota) (store.Request, bool, error) {
	return s.insert(ctx, r, events, q)
}

// CheckQuota implements store.Store, under the same lock as InsertWithin.
func (s *Store) CheckQuota(ctx context.Context, key string, q store.Quota) error {
	if q.PerDay > 0 && q.Since.IsZero() {
		return fmt.Errorf("store: check quota of %s: a per-day quota needs the start of its window (Quota.Since)", key)
	}
	r, err := s.get(ctx, s.rdb, key)
	if err != nil {
		return fmt.Errorf("store: check quota of %s in %s: %w", key, s.desc, err)
	}
	if q.Zero() {
		return nil
	}
	if err := s.ensureQuotaLock(ctx, r.Source); err != nil {
		return fmt.Errorf("store: check quota of %s in %s: %w", key, s.desc, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockQuota(ctx, tx, r.Source); err != nil {
			return err
		}
		return s.checkQuota(ctx, tx, r.Source, key, q)
	})
	var qe *store.QuotaError
	if errors.As(err, &qe) {
		return qe
	}
	if err != nil {
		return fmt.Errorf("store: check quota of %s in %s: %w", key, s.desc, err)
	}
	return nil
}

// quotaLockKey is the source's row in quota_locks: a digest, so that a
// source of any length fits the key.
func quotaLockKey(source string) string {
	sum := sha256.Sum256([]byte(source))
	return hex.EncodeToString(sum[:])
}

// ensureQuotaLock adds the source's lock row if it is missing, in a
// statement of its own: rows are never deleted, and adding one inside the
// deciding transaction would let two first requests of a source deadlock on
// the new key (MySQL) instead of queueing on an existing row.
func (s *Store) ensureQuotaLock(ctx context.Context, source string) error {
	q := `INSERT INTO quota_locks (lock_key) VALUES (?) ON CONFLICT (lock_key) DO NOTHING`
	switch s.d.kind {
	case "sqlite":
		return nil
	case "mysql":
		q = `INSERT INTO quota_locks (lock_key) VALUES (?) ON DUPLICATE KEY UPDATE lock_key = lock_key`
	}
	err := s.retry(ctx, func() error {
		_, err := s.wdb.ExecContext(ctx, s.d.rebind(q), quotaLockKey(source))
		return err
	})
	if err != nil {
		return fmt.Errorf("add quota lock of source %q: %w", source, err)
	}
	return nil
}

// lockQuota holds the source's lock row until tx ends.
func (s *Store) lockQuota(ctx context.Context, tx *sql.Tx, source string) error {
	if s.d.kind == "sqlite" {
		return nil
	}
	var key string
	err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT lock_key FROM quota_locks WHERE lock_key = ? FOR UPDATE`), quotaLockKey(source)).Scan(&key)
	if err != nil {
		return fmt.Errorf("lock quota of source %q: %w", source, err)
	}
	return nil
}

// checkQuota counts the source's requests as store.Quota defines them
// (create requests only: deleting a gateway takes nothing from the quota),
// leaving out the request with key except, and refuses with a
// *store.QuotaError when one more would break q.
func (s *Store) checkQuota(ctx context.Context, tx *sql.Tx, source, except string, q store.Quota) error {
	recv, pend := string(store.Received), string(store.Pending)
	since := s.d.timeArg(q.Since)
	var perDay, pending int
	err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT
		COUNT(CASE WHEN state IN (?, ?) THEN 1 END),
		COUNT(CASE WHEN state = ? OR accepted_at >= ? THEN 1 END)
		FROM requests WHERE source = ? AND request_key <> ? AND kind = ? AND (state IN (?, ?) OR accepted_at >= ?)`),
		recv, pend, recv, since, source, except, kindCreate, recv, pend, since).Scan(&pending, &perDay)
	if err != nil {
		return fmt.Errorf("count requests of source %q: %w", source, err)
	}
	if q.PerDay <= 0 {
		perDay = 0
	}
	if q.Pending <= 0 {
		pending = 0
	}
	qe := &store.QuotaError{Source: source, Quota: q, PerDay: perDay, Pending: pending}
	if qe.PerDayExceeded() || qe.PendingExceeded() {
		return qe
	}
	return nil
}
