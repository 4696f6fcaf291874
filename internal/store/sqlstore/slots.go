package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MaxSlotBucket is the longest bucket name ReserveSlot accepts, in bytes: the
// width of the api_slots column on MySQL.
const MaxSlotBucket = 128

// ReserveSlot reserves the next start in bucket of a sequence of starts at
// least interval apart, shared by everything that uses this database: every
// instance of every function, when the client-side API rate limit is shared.
// The start is the later of the store's clock and the bucket's next free
// start; it is reserved only if it is not after latest (the zero latest is no
// bound), and a reservation moves the bucket's next free start to start +
// interval. ReserveSlot returns how long after now the start is and whether it
// was reserved; a start it did not reserve stays free for others.
//
// Of concurrent calls with one bucket, each reserves a start of its own: the
// bucket's row is locked (SQLite: the write transaction) from read to update.
func (s *Store) ReserveSlot(ctx context.Context, bucket string, interval time.Duration, latest time.Time) (time.Duration, bool, error) {
	if err := checkKey("reserve slot: bucket", bucket, MaxSlotBucket); err != nil {
		return 0, false, err
	}
	if interval < 0 {
		return 0, false, fmt.Errorf("store: reserve slot: negative interval %s", interval)
	}
	d := s.d
	upsert := `INSERT INTO api_slots (bucket, next_at) VALUES (?, ?) ON CONFLICT (bucket) DO NOTHING`
	forUpdate := ` FOR UPDATE`
	switch d.kind {
	case "mysql":
		upsert = `INSERT INTO api_slots (bucket, next_at) VALUES (?, ?) ON DUPLICATE KEY UPDATE bucket = bucket`
	case "sqlite":
		forUpdate = "" // the IMMEDIATE transaction already holds the write lock
	}
	var (
		wait     time.Duration
		reserved bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := normTime(s.now())
		if _, err := tx.ExecContext(ctx, d.rebind(upsert), bucket, d.timeArg(now)); err != nil {
			return err
		}
		var next timeScan
		if err := tx.QueryRowContext(ctx, d.rebind(`SELECT next_at FROM api_slots WHERE bucket = ?`+forUpdate), bucket).Scan(&next); err != nil {
			return err
		}
		start := now
		if next.t.After(start) {
			start = next.t
		}
		wait, reserved = start.Sub(now), latest.IsZero() || !start.After(latest)
		if !reserved {
			return nil
		}
		_, err := tx.ExecContext(ctx, d.rebind(`UPDATE api_slots SET next_at = ? WHERE bucket = ?`), d.timeArg(start.Add(interval)), bucket)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: reserve %s slot in %s: %w", bucket, s.desc, err)
	}
	return wait, reserved, nil
}
