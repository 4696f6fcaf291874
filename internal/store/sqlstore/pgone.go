package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// On PostgreSQL every statement is a round trip to the server, and so are
// BEGIN and COMMIT: a request's record was five (BEGIN, insert, history,
// read back, COMMIT), its state change six and its sent mark four. The
// common shapes of those three writes are one statement each here, whose
// parts are data-modifying WITH clauses: a statement outside a transaction
// is a transaction of its own, so the request, its history entry and its
// outbox event still commit together or not at all. The other shapes (a
// quota to count, several events, a change that may repeat the last
// history entry, several sinks) take the transactions in sqlstore.go.

// pgOne says whether the one-statement forms apply: PostgreSQL, and at
// most one event (the order of several events' seqs is the order of their
// statements in the transaction form).
func (s *Store) pgOne(events []store.Event) bool {
	return s.d.kind == "postgres" && len(events) <= 1
}

// pgEvent is the WITH clause that appends events (at most one) to the
// outbox for the request the clause src returns, and its arguments.
func (s *Store) pgEvent(src string, events []store.Event, now time.Time) (string, []any) {
	if len(events) == 0 {
		return "", nil
	}
	e := events[0]
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	if e.Body == nil {
		e.Body = []byte{}
	}
	return `, o AS (INSERT INTO outbox (id, request_key, type, body, created_at)
		SELECT ?::text, request_key, ?::text, ?::bytea, ?::timestamptz FROM ` + src + `)`,
		[]any{e.ID, e.Type, e.Body, s.d.timeArg(e.CreatedAt)}
}

// pgHistory is the WITH clause that writes the history entry of the
// request the clause src returns, and its arguments.
func (s *Store) pgHistory(src string, n store.Note, at time.Time) (string, []any) {
	return `, h AS (INSERT INTO request_history (request_key, at, state, actor, reason, gateway_id)
		SELECT request_key, ?::timestamptz, state, ?::text, ?::text, gateway_id FROM ` + src + `)`,
		[]any{s.d.timeArg(at), string(n.Actor), n.Reason}
}

// pgInsert is insert without a quota: the request, its history entry and
// its event in one statement. created is false when the key exists; then
// the stored request is read.
func (s *Store) pgInsert(ctx context.Context, r store.Request, events []store.Event, n store.Note, now time.Time) (store.Request, bool, error) {
	d := s.d
	args := d.requestArgs(r)
	ev, evArgs := s.pgEvent("r", events, now)
	h, hArgs := s.pgHistory("r", n, r.UpdatedAt)
	q := `WITH r AS (` + d.insertRequest + ` RETURNING ` + requestColumns + `)` + ev + h +
		` SELECT ` + requestColumns + ` FROM r`
	args = append(append(args, evArgs...), hArgs...)
	q = d.rebind(q)
	var (
		got     store.Request
		created bool
	)
	err := s.retry(ctx, func() error {
		var err error
		got, err = scanRequest(s.wdb.QueryRowContext(ctx, q, args...))
		created = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			got, err = s.get(ctx, s.wdb, r.Key)
		}
		return err
	})
	return got, created, err
}

// pgTransition is Transition for a change to another state: the update, its
// event and its history entry in one statement. upd is the UPDATE, with ?
// placeholders, and args its arguments.
func (s *Store) pgTransition(ctx context.Context, key string, upd string, args []any, events []store.Event, n store.Note, now time.Time) (store.Request, error) {
	ev, evArgs := s.pgEvent("u", events, now)
	h, hArgs := s.pgHistory("u", n, now)
	q := s.d.rebind(`WITH u AS (` + upd + ` RETURNING ` + requestColumns + `)` + ev + h +
		` SELECT ` + requestColumns + ` FROM u`)
	args = append(append(slices.Clone(args), evArgs...), hArgs...)
	var got store.Request
	err := s.retry(ctx, func() error {
		var err error
		got, err = scanRequest(s.wdb.QueryRowContext(ctx, q, args...))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var one int
		err = s.wdb.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM requests WHERE request_key = ?`), key).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return store.ErrConflict
	})
	return got, err
}

// pgMarkSent is MarkSentFor when sinks names sink and seqs fit one
// statement: each event gets the sink's row, and is settled when every
// other sink has its row too, in one statement that commits without
// waiting for the disk (set_config's synchronous_commit, local to the
// statement's transaction; see inLaxTx). The sink's own row is not counted
// but known: the statement writes it or finds it, and a statement does not
// see its own WITH clause's rows.
func (s *Store) pgMarkSent(ctx context.Context, sink string, seqs []int64, sinks []string, now any) error {
	var others []string
	for _, k := range slices.Compact(slices.Sorted(slices.Values(sinks))) {
		if k != sink {
			others = append(others, k)
		}
	}
	in := marks(len(seqs))
	q := `WITH lax AS (SELECT set_config('synchronous_commit', 'off', true) AS v),
		d AS (INSERT INTO outbox_deliveries (sink, seq, sent_at)
			SELECT ?, seq, ?::timestamptz FROM outbox WHERE seq IN (` + in + `)
			ON CONFLICT (sink, seq) DO NOTHING)
		UPDATE outbox SET sent_at = ? FROM lax WHERE lax.v IS NOT NULL AND outbox.sent_at IS NULL AND outbox.seq IN (` + in + `)`
	args := []any{sink, now}
	for _, seq := range seqs {
		args = append(args, seq)
	}
	args = append(args, now)
	for _, seq := range seqs {
		args = append(args, seq)
	}
	if len(others) > 0 {
		q += ` AND (SELECT COUNT(*) FROM outbox_deliveries od WHERE od.seq = outbox.seq AND od.sink IN (` + marks(len(others)) + `)) >= ?`
		for _, k := range others {
			args = append(args, k)
		}
		args = append(args, len(others))
	}
	if len(others) == 0 {
		q = s.d.rebind(q)
		return s.retry(ctx, func() error {
			_, err := s.wdb.ExecContext(ctx, q, args...)
			return err
		})
	}
	// Another sink marking the same events at the same moment (a drain
	// runs its sinks side by side) writes its row unseen by this
	// statement's snapshot, and this one's by its: neither would settle
	// the event, and every drain after would read it again. What this
	// statement left unsettled is counted again by a statement of its own,
	// begun after this one committed: of two such marks, the later one's
	// count sees both rows.
	settled, err := s.pgSettling(ctx, s.d.rebind(q+` RETURNING outbox.seq`), args)
	if err != nil {
		return err
	}
	return s.pgSettleLeft(ctx, seqs, settled, sinks, now)
}

// pgMarkSentEach is MarkSentEach in one statement: every sink's rows, and
// the events settled whose every sink has its row, this statement's
// included.
func (s *Store) pgMarkSentEach(ctx context.Context, each []store.SinkMarks, sinks []string, now any) error {
	sinks = slices.Compact(slices.Sorted(slices.Values(sinks)))
	var (
		pairs []string
		all   []int64
		args  []any
	)
	for _, m := range each {
		for _, seq := range m.Seqs {
			pairs = append(pairs, "(?::text, ?::bigint)")
			args = append(args, m.Sink, seq)
			all = append(all, seq)
		}
	}
	all = slices.Compact(slices.Sorted(slices.Values(all)))
	args = append(args, now, now)
	for _, seq := range all {
		args = append(args, seq)
	}
	for range 2 {
		for _, k := range sinks {
			args = append(args, k)
		}
	}
	args = append(args, len(sinks))
	q := s.d.rebind(`WITH lax AS (SELECT set_config('synchronous_commit', 'off', true) AS v),
		p (sink, seq) AS (VALUES ` + strings.Join(pairs, ", ") + `),
		d AS (INSERT INTO outbox_deliveries (sink, seq, sent_at)
			SELECT DISTINCT p.sink, o.seq, ?::timestamptz FROM p JOIN outbox o ON o.seq = p.seq
			ON CONFLICT (sink, seq) DO NOTHING)
		UPDATE outbox SET sent_at = ? FROM lax WHERE lax.v IS NOT NULL AND outbox.sent_at IS NULL AND outbox.seq IN (` + marks(len(all)) + `)
		AND (SELECT COUNT(*) FROM (SELECT od.sink FROM outbox_deliveries od WHERE od.seq = outbox.seq AND od.sink IN (` + marks(len(sinks)) + `)
			UNION SELECT p.sink FROM p WHERE p.seq = outbox.seq AND p.sink IN (` + marks(len(sinks)) + `)) x) >= ?
		RETURNING outbox.seq`)
	settled, err := s.pgSettling(ctx, q, args)
	if err != nil {
		return err
	}
	return s.pgSettleLeft(ctx, all, settled, sinks, now)
}

// pgSettling runs q, an UPDATE of outbox … RETURNING outbox.seq, and
// returns the seqs it settled.
func (s *Store) pgSettling(ctx context.Context, q string, args []any) ([]int64, error) {
	var settled []int64
	err := s.retry(ctx, func() error {
		rows, err := s.wdb.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		settled, err = scanAll(rows, func(row scanner) (int64, error) {
			var seq int64
			err := row.Scan(&seq)
			return seq, err
		})
		return err
	})
	return settled, err
}

// pgSettleLeft settles, in a statement of its own, those of seqs a mark
// left unsettled (it settled only settled): a sink marking them at the
// same moment wrote its row unseen by the mark's snapshot.
func (s *Store) pgSettleLeft(ctx context.Context, seqs, settled []int64, sinks []string, now any) error {
	if len(settled) == len(seqs) {
		return nil
	}
	var left []int64
	for _, seq := range seqs {
		if !slices.Contains(settled, seq) {
			left = append(left, seq)
		}
	}
	return s.pgSettle(ctx, left, sinks, now)
}

// pgSettle settles those of seqs that every one of sinks has a row for,
// committed without waiting for the disk (see inLaxTx).
func (s *Store) pgSettle(ctx context.Context, seqs []int64, sinks []string, now any) error {
	sinks = slices.Compact(slices.Sorted(slices.Values(sinks)))
	args := []any{now}
	for _, seq := range seqs {
		args = append(args, seq)
	}
	for _, k := range sinks {
		args = append(args, k)
	}
	args = append(args, len(sinks))
	q := s.d.rebind(`WITH lax AS (SELECT set_config('synchronous_commit', 'off', true) AS v)
		UPDATE outbox SET sent_at = ? FROM lax WHERE lax.v IS NOT NULL AND outbox.sent_at IS NULL AND outbox.seq IN (` + marks(len(seqs)) + `)
		AND (SELECT COUNT(*) FROM outbox_deliveries od WHERE od.seq = outbox.seq AND od.sink IN (` + marks(len(sinks)) + `)) >= ?`)
	return s.retry(ctx, func() error {
		_, err := s.wdb.ExecContext(ctx, q, args...)
		return err
	})
}
