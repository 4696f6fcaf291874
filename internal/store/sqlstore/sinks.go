package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/textcut"
)

// Per-sink delivery (migration 0010): outbox_deliveries holds a row per sink
// and event the sink acknowledged or refused for good; outbox.sent_at is set
// once every configured sink has its row (the event is settled), which keeps
// the set every drain reads as small as the slowest sink's backlog.

// UnsentFor implements store.Store. A limit below 1 returns nothing.
func (s *Store) UnsentFor(ctx context.Context, sink string, limit int) ([]store.Event, error) {
	return s.UnsentAfter(ctx, sink, 0, limit)
}

// UnsentAfter implements store.Store. A limit below 1 returns nothing.
func (s *Store) UnsentAfter(ctx context.Context, sink string, after int64, limit int) ([]store.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reader().QueryContext(ctx, s.d.rebind(`SELECT o.seq, o.id, o.request_key, o.type, o.body, o.created_at, COALESCE(r.sinks, ''), `+replyColumns+`
		FROM outbox o LEFT JOIN requests r ON r.request_key = o.request_key `+replyJoin+`
		WHERE o.sent_at IS NULL AND o.seq > ?
		AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.sink = ? AND d.seq = o.seq)
		ORDER BY o.seq LIMIT ?`), after, sink, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read outbox of %s for sink %q: %w", s.desc, sink, err)
	}
	out, err := scanAll(rows, func(row scanner) (store.Event, error) {
		var (
			e       store.Event
			created timeScan
			sinks   string
			reply   replyScan
		)
		err := row.Scan(append([]any{&e.Seq, &e.ID, &e.RequestKey, &e.Type, &e.Body, &created, &sinks}, reply.dest()...)...)
		e.CreatedAt, e.Sinks = created.t, splitSinks(sinks)
		e.Reply, e.ReplyRead = reply.reply(), true
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: read outbox of %s for sink %q: %w", s.desc, sink, err)
	}
	return out, nil
}

// UnsentForEach implements store.Store: one read of the unsettled events,
// with, for each of sinks, whether it has a row for the event.
func (s *Store) UnsentForEach(ctx context.Context, sinks []string, limit int) (store.UnsentEach, error) {
	out := store.UnsentEach{Of: make([][]store.Event, len(sinks))}
	if limit <= 0 || len(sinks) == 0 {
		return out, nil
	}
	var q strings.Builder
	q.WriteString(`SELECT o.seq, o.id, o.request_key, o.type, o.body, o.created_at, COALESCE(r.sinks, ''), ` + replyColumns)
	args := make([]any, 0, len(sinks)+1)
	for _, k := range sinks {
		q.WriteString(`, EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.sink = ? AND d.seq = o.seq)`)
		args = append(args, k)
	}
	q.WriteString(` FROM outbox o LEFT JOIN requests r ON r.request_key = o.request_key ` + replyJoin + `
		WHERE o.sent_at IS NULL ORDER BY o.seq LIMIT ?`)
	args = append(args, limit)
	rows, err := s.reader().QueryContext(ctx, s.d.rebind(q.String()), args...)
	if err != nil {
		return out, fmt.Errorf("store: read outbox of %s for sinks %q: %w", s.desc, sinks, err)
	}
	defer rows.Close()
	done := make([]bool, len(sinks))
	var reply replyScan
	dest := append(make([]any, 7, 15+len(sinks)), reply.dest()...)
	for i := range done {
		dest = append(dest, &done[i])
	}
	for rows.Next() {
		var (
			e       store.Event
			created timeScan
			routed  string
		)
		dest[0], dest[1], dest[2], dest[3], dest[4], dest[5], dest[6] = &e.Seq, &e.ID, &e.RequestKey, &e.Type, &e.Body, &created, &routed
		if err := rows.Scan(dest...); err != nil {
			return out, fmt.Errorf("store: read outbox of %s for sinks %q: %w", s.desc, sinks, err)
		}
		e.CreatedAt, e.Sinks = created.t, splitSinks(routed)
		e.Reply, e.ReplyRead = reply.reply(), true
		out.Read++
		out.Last = e.Seq
		for i, d := range done {
			if !d {
				out.Of[i] = append(out.Of[i], e)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: read outbox of %s for sinks %q: %w", s.desc, sinks, err)
	}
	return out, nil
}

// MarkSentFor implements store.Store. Seqs already marked for the sink keep
// their first sent time; unknown seqs are ignored.
func (s *Store) MarkSentFor(ctx context.Context, sink string, seqs []int64, sinks []string) error {
	if len(seqs) == 0 {
		return nil
	}
	now := s.d.timeArg(s.now())
	var err error
	// What is lost with a commit that did not wait for the disk is a mark:
	// the event is published again under its id (see inLaxTx).
	if s.d.kind == "postgres" && len(seqs) <= maxBatch && slices.Contains(sinks, sink) {
		err = s.pgMarkSent(ctx, sink, seqs, sinks, now)
	} else {
		err = s.markSentTx(ctx, sink, seqs, sinks, now)
	}
	if err != nil {
		return fmt.Errorf("store: mark %d events sent to sink %q in %s: %w", len(seqs), sink, s.desc, err)
	}
	return nil
}

// MarkSentEach implements store.Store: one statement on PostgreSQL, one
// transaction elsewhere, committed without waiting for the disk as
// MarkSentFor's are.
func (s *Store) MarkSentEach(ctx context.Context, marks []store.SinkMarks, sinks []string) error {
	marks = slices.DeleteFunc(slices.Clone(marks), func(m store.SinkMarks) bool { return len(m.Seqs) == 0 })
	if len(marks) == 0 {
		return nil
	}
	now := s.d.timeArg(s.now())
	pairs := 0
	for _, m := range marks {
		pairs += len(m.Seqs)
	}
	var err error
	if s.d.kind == "postgres" && pairs <= maxBatch {
		err = s.pgMarkSentEach(ctx, marks, sinks, now)
	} else {
		err = s.inLaxTx(ctx, func(tx *sql.Tx) error {
			w := s.in(tx)
			var all []int64
			for _, m := range marks {
				for chunk := range slices.Chunk(m.Seqs, maxBatch) {
					if err := s.insertDeliveries(ctx, w, m.Sink, chunk, now); err != nil {
						return err
					}
				}
				all = append(all, m.Seqs...)
			}
			for chunk := range slices.Chunk(slices.Compact(slices.Sorted(slices.Values(all))), maxBatch) {
				if err := s.settle(ctx, w, chunk, sinks, now); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("store: mark events sent to %d sinks in %s: %w", len(marks), s.desc, err)
	}
	return nil
}

// insertDeliveries writes the sink's row for each of seqs that is an
// event, leaving rows that exist as they are.
func (s *Store) insertDeliveries(ctx context.Context, w queryer, sink string, seqs []int64, now any) error {
	args := []any{sink, now}
	for _, seq := range seqs {
		args = append(args, seq)
	}
	_, err := w.ExecContext(ctx, s.d.rebind(s.insertDelivery(`INSERT INTO outbox_deliveries (sink, seq, sent_at)
		SELECT ?, seq, ? FROM outbox WHERE seq IN (`+marks(len(seqs))+`)`)), args...)
	return err
}

// markSentTx is MarkSentFor as a transaction of several statements.
func (s *Store) markSentTx(ctx context.Context, sink string, seqs []int64, sinks []string, now any) error {
	return s.inLaxTx(ctx, func(tx *sql.Tx) error {
		w := s.in(tx)
		for chunk := range slices.Chunk(seqs, maxBatch) {
			if err := s.insertDeliveries(ctx, w, sink, chunk, now); err != nil {
				return err
			}
			if err := s.settle(ctx, w, chunk, sinks, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// ParkFor implements store.Store.
func (s *Store) ParkFor(ctx context.Context, sink string, seq int64, reason string, sinks []string) error {
	reason = textcut.Cut(reason, store.MaxParkedReason)
	now := s.d.timeArg(s.now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.d.rebind(s.insertDelivery(`INSERT INTO outbox_deliveries (sink, seq, parked_at, parked_reason)
			SELECT ?, seq, ?, ? FROM outbox WHERE seq = ? AND sent_at IS NULL`)), sink, now, reason, seq)
		if err != nil {
			return err
		}
		return s.settle(ctx, s.in(tx), []int64{seq}, sinks, now)
	})
	if err != nil {
		return fmt.Errorf("store: park outbox event %d for sink %q in %s: %w", seq, sink, s.desc, err)
	}
	return nil
}

// insertDelivery makes an INSERT … SELECT into outbox_deliveries leave an
// existing row as it is.
func (s *Store) insertDelivery(q string) string {
	if s.d.kind == "mysql" {
		return q + ` ON DUPLICATE KEY UPDATE sink = outbox_deliveries.sink`
	}
	return q + ` ON CONFLICT (sink, seq) DO NOTHING`
}

// settle marks as settled those of seqs every one of sinks has a row for.
func (s *Store) settle(ctx context.Context, w queryer, seqs []int64, sinks []string, now any) error {
	if len(sinks) == 0 {
		return nil
	}
	sinks = slices.Compact(slices.Sorted(slices.Values(sinks)))
	args := []any{now}
	for _, k := range sinks {
		args = append(args, k)
	}
	args = append(args, len(sinks))
	for _, seq := range seqs {
		args = append(args, seq)
	}
	_, err := w.ExecContext(ctx, s.d.rebind(`UPDATE outbox SET sent_at = ?
		WHERE sent_at IS NULL
		AND (SELECT COUNT(*) FROM outbox_deliveries d WHERE d.seq = outbox.seq AND d.sink IN (`+marks(len(sinks))+`)) >= ?
		AND seq IN (`+marks(len(seqs))+`)`), args...)
	return err
}

// ParkedFor implements store.Store. A limit below 1 returns nothing.
func (s *Store) ParkedFor(ctx context.Context, sink string, limit int) ([]store.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(`SELECT o.seq, o.id, o.request_key, o.type, o.body, o.created_at, d.parked_at, d.parked_reason
		FROM outbox_deliveries d JOIN outbox o ON o.seq = d.seq
		WHERE d.sink = ? AND d.parked_at IS NOT NULL ORDER BY d.seq LIMIT ?`), sink, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read parked outbox events of %s for sink %q: %w", s.desc, sink, err)
	}
	out, err := scanAll(rows, func(row scanner) (store.Event, error) {
		var (
			e               store.Event
			created, parked timeScan
		)
		err := row.Scan(&e.Seq, &e.ID, &e.RequestKey, &e.Type, &e.Body, &created, &parked, &e.ParkedReason)
		e.CreatedAt, e.ParkedAt = created.t, parked.t
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: read parked outbox events of %s for sink %q: %w", s.desc, sink, err)
	}
	return out, nil
}

// CountParkedFor implements store.Store.
func (s *Store) CountParkedFor(ctx context.Context, sink string) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM outbox_deliveries WHERE sink = ? AND parked_at IS NOT NULL`), sink).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count parked outbox events of %s for sink %q: %w", s.desc, sink, err)
	}
	return n, nil
}

// UnparkFor implements store.Store: the sink's parked rows go, and the
// events are unsettled again so that the sink's drain finds them; the
// other sinks keep their rows and do not publish them again.
func (s *Store) UnparkFor(ctx context.Context, sink string, seqs []int64) (int, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for chunk := range slices.Chunk(seqs, maxBatch) {
			args := []any{sink}
			for _, seq := range chunk {
				args = append(args, seq)
			}
			rows, err := tx.QueryContext(ctx, s.d.rebind(`SELECT seq FROM outbox_deliveries
				WHERE sink = ? AND parked_at IS NOT NULL AND seq IN (`+marks(len(chunk))+`)`), args...)
			if err != nil {
				return err
			}
			parked, err := scanColumn[int64](rows)
			if err != nil {
				return err
			}
			if len(parked) == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM outbox_deliveries WHERE sink = ? AND seq IN (`+marks(len(parked))+`)`),
				append([]any{sink}, parked...)...); err != nil {
				return err
			}
			// parked_at on the outbox row is what builds before per-sink
			// delivery wrote; clear it too, so that they publish it again.
			if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE outbox SET sent_at = NULL, parked_at = NULL, parked_reason = ''
				WHERE seq IN (`+marks(len(parked))+`)`), parked...); err != nil {
				return err
			}
			n += len(parked)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: unpark %d outbox events for sink %q in %s: %w", len(seqs), sink, s.desc, err)
	}
	return n, nil
}

// joinSinks is how requests.sinks keeps Request.Sinks: the names joined
// by ',', which no sink name holds.
func joinSinks(names []string) string { return strings.Join(names, ",") }

// splitSinks reads what joinSinks wrote; ” is no sink.
func splitSinks(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
