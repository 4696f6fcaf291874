package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// LearnedRate implements store.Store.
func (s *Store) LearnedRate(ctx context.Context, bucket string) (store.LearnedRate, bool, error) {
	if err := checkKey("learned rate: bucket", bucket, MaxSlotBucket); err != nil {
		return store.LearnedRate{}, false, err
	}
	var (
		r             store.LearnedRate
		since, resume timeScan
		holdMs        int64
	)
	err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT per_sec, since, resume_at, hold_ms FROM api_rates WHERE bucket = ?`), bucket).
		Scan(&r.PerSec, &since, &resume, &holdMs)
	if errors.Is(err, sql.ErrNoRows) {
		return store.LearnedRate{}, false, nil
	}
	if err != nil {
		return store.LearnedRate{}, false, fmt.Errorf("store: learned rate %s in %s: %w", bucket, s.desc, err)
	}
	r.Since, r.ResumeAt, r.Hold = since.t, resume.t, time.Duration(holdMs)*time.Millisecond
	return r, true, nil
}

// SetLearnedRate implements store.Store.
func (s *Store) SetLearnedRate(ctx context.Context, bucket string, r store.LearnedRate) error {
	if err := checkKey("learned rate: bucket", bucket, MaxSlotBucket); err != nil {
		return err
	}
	if !(r.PerSec > 0) || math.IsInf(r.PerSec, 0) || r.Since.IsZero() || r.Hold < 0 {
		return fmt.Errorf("store: learned rate %s: want a finite rate above 0, a time and a hold of 0 or more, got %g/s since %s held %s", bucket, r.PerSec, r.Since, r.Hold)
	}
	if r.ResumeAt.Before(r.Since) {
		r.ResumeAt = r.Since
	}
	q := `INSERT INTO api_rates (bucket, per_sec, since, resume_at, hold_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (bucket) DO UPDATE SET per_sec = excluded.per_sec, since = excluded.since, resume_at = excluded.resume_at, hold_ms = excluded.hold_ms`
	if s.d.kind == "mysql" {
		q = `INSERT INTO api_rates (bucket, per_sec, since, resume_at, hold_ms) VALUES (?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE per_sec = VALUES(per_sec), since = VALUES(since), resume_at = VALUES(resume_at), hold_ms = VALUES(hold_ms)`
	}
	err := s.retry(ctx, func() error {
		_, err := s.wdb.ExecContext(ctx, s.d.rebind(q), bucket, r.PerSec, s.d.timeArg(r.Since), s.d.timeArg(r.ResumeAt), r.Hold.Milliseconds())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set learned rate %s in %s: %w", bucket, s.desc, err)
	}
	return nil
}

// Hold implements store.Store.
func (s *Store) Hold(ctx context.Context, key, owner string, now, until time.Time) (bool, error) {
	if owner == "" {
		return false, errors.New("store: hold: no lease owner")
	}
	var held bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE requests SET lease_owner = ?, lease_until = ?
			WHERE request_key = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)`),
			owner, s.d.timeArg(until), key, s.d.timeArg(now), owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			held = true
			return nil
		}
		// Nothing changed: no such request, another's lease, or (MySQL
		// counts changed rows only) owner's own lease with the same end.
		var cur string
		err = tx.QueryRowContext(ctx, s.d.rebind(`SELECT lease_owner FROM requests WHERE request_key = ?`), key).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		held = err == nil && cur == owner
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: hold %s for %s in %s: %w", key, owner, s.desc, err)
	}
	return held, nil
}

// HeldUntil implements store.Store.
func (s *Store) HeldUntil(ctx context.Context, state store.State, owner string, now time.Time) (time.Time, error) {
	var until timeScan
	err := s.reader().QueryRowContext(ctx, s.d.rebind(`SELECT lease_until FROM requests
		WHERE state = ? AND lease_until >= ? AND lease_owner <> ? ORDER BY lease_until LIMIT 1`),
		string(state), s.d.timeArg(now), owner).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: held %s requests in %s: %w", state, s.desc, err)
	}
	return until.t, nil
}
