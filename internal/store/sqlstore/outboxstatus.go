package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// SinkStatus is where one sink's delivery stands: what an operator reads
// with `vpngwctl outbox status`.
type SinkStatus struct {
	// Pending counts the events the sink has neither acknowledged nor
	// parked; OldestPending is when the oldest of them was recorded (zero
	// when none is pending).
	Pending       int
	OldestPending time.Time
	// Parked counts the events parked for the sink; OldestParked is when
	// the first of them was parked (zero when none is).
	Parked       int
	OldestParked time.Time
}

// OutboxStatus returns the sink's delivery status, in two reads of the
// outbox (not one snapshot: an event may move between them).
func (s *Store) OutboxStatus(ctx context.Context, sink string) (SinkStatus, error) {
	var st SinkStatus
	var oldest timeScan
	if err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*), MIN(o.created_at) FROM outbox o WHERE o.sent_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.sink = ? AND d.seq = o.seq)`), sink).Scan(&st.Pending, &oldest); err != nil {
		return SinkStatus{}, fmt.Errorf("store: read outbox status of %s for sink %q: %w", s.desc, sink, err)
	}
	st.OldestPending = oldest.t
	if err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*), MIN(parked_at) FROM outbox_deliveries
		WHERE sink = ? AND parked_at IS NOT NULL`), sink).Scan(&st.Parked, &oldest); err != nil {
		return SinkStatus{}, fmt.Errorf("store: read outbox status of %s for sink %q: %w", s.desc, sink, err)
	}
	st.OldestParked = oldest.t
	return st, nil
}
