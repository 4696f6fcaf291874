package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxReplayKey is the longest key FirstUse accepts, in bytes: the width of
// the replay_keys column on MySQL.
const MaxReplayKey = 128

// checkKey refuses a key every backend cannot store alike: empty, longer than
// max bytes (the width of its column on MySQL), or holding NUL or invalid
// UTF-8 (which PostgreSQL's text refuses).
func checkKey(what, key string, max int) error {
	switch {
	case key == "":
		return fmt.Errorf("store: %s is empty", what)
	case len(key) > max:
		return fmt.Errorf("store: %s of %d bytes is over the limit of %d", what, len(key), max)
	case !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("store: %s is not printable UTF-8", what)
	}
	return nil
}

// replaySweep bounds how many expired keys one FirstUse deletes, so that the
// clean-up never makes one webhook request slow however long the table went
// without one.
const replaySweep = 64

// ReplaySweepMargin is how long after it expired a replay key may be
// deleted, the longest VPNGW_WEBHOOK_MAX_SKEW. Each instance sweeps by its
// own clock: without the margin, one whose clock runs ahead of another's
// would delete keys the other still holds current, and the other would
// then take a replay of their signatures. A key is still renewed as soon
// as it expired (the instance renewing it refuses its timestamp itself).
const ReplaySweepMargin = time.Hour

// FirstUse records key as used until the instant until and reports whether
// this is its first use: true when the key was never recorded or its record
// has expired (until is not after the store's clock), false while an earlier
// record of it is current. Of concurrent calls with one key, on one database,
// exactly one sees true; that is what lets every Function Compute instance of
// the webhook refuse a signature another instance already served.
//
// A key recorded with an until that has already passed is expired at once.
// Each call also deletes up to 64 keys expired for more than
// ReplaySweepMargin, oldest first, in the same transaction, so the table
// stays as small as the keys of the last hour.
func (s *Store) FirstUse(ctx context.Context, key string, until time.Time) (bool, error) {
	if err := checkKey("first use: replay key", key, MaxReplayKey); err != nil {
		return false, err
	}
	now := s.now()
	var first bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.sweepReplayKeys(ctx, tx, now.Add(-ReplaySweepMargin)); err != nil {
			return fmt.Errorf("delete expired replay keys: %w", err)
		}
		var err error
		first, err = s.useReplayKey(ctx, tx, key, until, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: record replay key in %s: %w", s.desc, err)
	}
	return first, nil
}

// useReplayKey inserts the key, or renews its expired record, in one
// statement where the dialect has an upsert whose row count says which
// happened; MySQL's does not (the store connects with CLIENT_FOUND_ROWS, so an
// unchanged row counts as affected), so there an expired record is deleted
// first and the duplicate-key error of the insert means "current".
func (s *Store) useReplayKey(ctx context.Context, tx *sql.Tx, key string, until, now time.Time) (bool, error) {
	d := s.d
	if d.kind == "mysql" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM replay_keys WHERE replay_key = ? AND expires_at <= ?`,
			key, d.timeArg(now)); err != nil {
			return false, err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO replay_keys (replay_key, expires_at) VALUES (?, ?)`, key, d.timeArg(until))
		if isDuplicateKey(err) {
			return false, nil
		}
		return err == nil, err
	}
	res, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO replay_keys (replay_key, expires_at) VALUES (?, ?)
		ON CONFLICT (replay_key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replay_keys.expires_at <= ?`), key, d.timeArg(until), d.timeArg(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// sweepReplayKeys deletes up to replaySweep keys that expired by before. On PostgreSQL and
// MySQL rows another transaction holds are skipped, so concurrent requests
// never wait on each other's clean-up.
func (s *Store) sweepReplayKeys(ctx context.Context, tx *sql.Tx, before time.Time) error {
	d := s.d
	expired := `SELECT replay_key FROM replay_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ` +
		fmt.Sprint(replaySweep) + d.skipLocked
	if d.kind != "mysql" {
		_, err := tx.ExecContext(ctx, d.rebind(`DELETE FROM replay_keys WHERE replay_key IN (`+expired+`)`), d.timeArg(before))
		return err
	}
	// MySQL refuses LIMIT in an IN subquery: read the keys, then delete them.
	rows, err := tx.QueryContext(ctx, expired, d.timeArg(before))
	if err != nil {
		return err
	}
	keys, err := scanColumn[string](rows)
	if err != nil || len(keys) == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM replay_keys WHERE replay_key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, keys...)
	return err
}
