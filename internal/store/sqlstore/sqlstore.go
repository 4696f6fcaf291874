package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/pause"
	"github.com/vpngw/vpngw/internal/store"
)

// Store is the store.Store on a SQL database: SQLite, PostgreSQL or
// MySQL/MariaDB. Open one with Open or OpenSQL; it is safe for concurrent use.
type Store struct {
	d    *dialect
	desc string  // backend, host and database for errors; never a password
	wdb  *sql.DB // writes (and, except on SQLite files, reads)
	rdb  *sql.DB // reads
	now  func() time.Time
	// secret is the connection password, kept only to scrub it from errors
	// raised while opening.
	secret string
	// wcache and rcache keep the statements of wdb and rdb prepared
	// (SQLite only; nil elsewhere, see stmtCache).
	wcache, rcache *stmtCache
	// laxSQLite says that MarkSentFor may commit on SQLite without
	// waiting for the disk (see inLaxTx): the URL left synchronous at its
	// default.
	laxSQLite bool
	// maxIdle is how many idle connections the pool keeps (Warm).
	maxIdle int
}

var _ store.Store = (*Store)(nil)

func newStore(d *dialect, desc string, wdb, rdb *sql.DB, o options) *Store {
	s := &Store{d: d, desc: desc, wdb: wdb, rdb: rdb, now: o.now, maxIdle: min(o.maxIdle, o.maxOpen)}
	if d.prepare {
		s.wcache, s.rcache = newStmtCache(wdb), newStmtCache(rdb)
		if rdb == wdb {
			s.rcache = s.wcache
		}
	}
	return s
}

// in runs statements in tx, prepared where the store keeps them so.
func (s *Store) in(tx *sql.Tx) queryer { return txRunner{tx: tx, cache: s.wcache} }

// reader runs statements on the read pool, prepared where the store keeps
// them so.
func (s *Store) reader() queryer { return dbRunner{db: s.rdb, cache: s.rcache} }

// Kind names the backend: "sqlite", "postgres" or "mysql".
func (s *Store) Kind() string { return s.d.kind }

// String names the backend, host and database, without credentials.
func (s *Store) String() string { return s.desc }

// Close closes the store's connection pools.
func (s *Store) Close() error {
	var err error
	if s.wcache != nil {
		err = errors.Join(s.wcache.close(), s.rcache.close())
	}
	err = errors.Join(err, s.wdb.Close())
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// maxBatch bounds the keys or seqs in one statement, well inside every
// backend's limit on bound parameters; Claim leases at most this many at once.
const maxBatch = 500

// maxAttempts bounds how often a transaction that lost a race (deadlock,
// serialization failure, lock timeout) is run again.
const maxAttempts = 5

// retry runs fn again while it fails in a way that another run can fix.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		// Jitter keeps the losers of one race from meeting again.
		wait := time.Duration(attempt) * (5*time.Millisecond + rand.N(10*time.Millisecond))
		if pause.For(ctx, wait) != nil {
			return err
		}
	}
}

// inTx runs fn in one write transaction, retried as a whole when it loses a
// race. fn must not use s.wdb: on SQLite its one connection is fn's.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.d.readCommitted {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	err := s.runTx(ctx, func() (*sql.Tx, error) { return s.wdb.BeginTx(ctx, opts) }, fn)
	if s.wcache != nil {
		// Prepare what fn met for the first time, now that the writer's
		// connection is free.
		s.wcache.flush(ctx)
	}
	return err
}

// runTx begins a transaction with begin, runs fn in it and commits it,
// all again when it loses a race.
func (s *Store) runTx(ctx context.Context, begin func() (*sql.Tx, error), fn func(tx *sql.Tx) error) error {
	return s.retry(ctx, func() error {
		tx, err := begin()
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Insert implements store.Store. An empty r.State is stored as store.Received; zero
// CreatedAt and UpdatedAt are stamped with the clock. Every event is stored
// for r.Key whatever its RequestKey says, and only if this call created the
// request.
func (s *Store) Insert(ctx context.Context, r store.Request, events []store.Event) (store.Request, bool, error) {
	return s.insert(ctx, r, events, store.Quota{})
}

// InsertMany implements store.Store: every request is written as insert
// writes one without events or quota, all in one transaction.
func (s *Store) InsertMany(ctx context.Context, rs []store.Request) ([]store.Inserted, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	now := s.now()
	for i := range rs {
		r, err := insertable(rs[i], nil, now)
		if err != nil {
			return nil, err
		}
		rs[i] = r
	}
	out := make([]store.Inserted, len(rs))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		w := s.in(tx)
		for i, r := range rs {
			got, created, err := s.insertOne(ctx, w, r, nil, now)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Key, err)
			}
			out[i] = store.Inserted{Request: got, Created: created}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: insert %d requests into %s: %w", len(rs), s.desc, invalidValue(err))
	}
	return out, nil
}

// insertable checks r for insert and fills in its defaults at now.
func insertable(r store.Request, events []store.Event, now time.Time) (store.Request, error) {
	if r.Key == "" {
		return r, errors.New("store: insert: request has no key")
	}
	if r.State == "" {
		r.State = store.Received
	}
	if !r.State.Valid() {
		return r, fmt.Errorf("store: insert %s: unknown state %q", r.Key, r.State)
	}
	if err := checkEvents(r.Key, events); err != nil {
		return r, fmt.Errorf("store: insert %s: %w", r.Key, err)
	}
	for _, k := range r.Sinks {
		if k == "" || strings.Contains(k, ",") {
			return r, fmt.Errorf("store: insert %s: sink name %q: want a name without commas", r.Key, k)
		}
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	if r.Params == nil {
		r.Params = []byte{}
	}
	return r, nil
}

// insert is Insert, and InsertWithin when q bounds something.
func (s *Store) insert(ctx context.Context, r store.Request, events []store.Event, q store.Quota) (store.Request, bool, error) {
	now := s.now()
	r, err := insertable(r, events, now)
	if err != nil {
		return store.Request{}, false, err
	}
	if !q.Zero() && q.PerDay > 0 && q.Since.IsZero() {
		return store.Request{}, false, fmt.Errorf("store: insert %s: a per-day quota needs the start of its window (Quota.Since)", r.Key)
	}
	if !q.Zero() {
		if err := s.ensureQuotaLock(ctx, r.Source); err != nil {
			return store.Request{}, false, fmt.Errorf("store: insert %s into %s: %w", r.Key, s.desc, err)
		}
	}

	var (
		got     store.Request
		created bool
	)
	if q.Zero() && s.pgOne(events) {
		got, created, err = s.pgInsert(ctx, r, events, note(ctx, r.Note, r.LastError), now)
	} else {
		got, created, err = s.insertTx(ctx, r, events, q, now)
	}
	var qe *store.QuotaError
	if errors.As(err, &qe) {
		return store.Request{}, false, qe
	}
	if err != nil {
		return store.Request{}, false, fmt.Errorf("store: insert %s into %s: %w", r.Key, s.desc, invalidValue(err))
	}
	return got, created, nil
}

// insertTx is insert as a transaction of several statements.
func (s *Store) insertTx(ctx context.Context, r store.Request, events []store.Event, q store.Quota, now time.Time) (got store.Request, created bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		w := s.in(tx)
		if !q.Zero() {
			// Serialise the source's quota decisions, then answer a
			// recorded request from its record before counting, so that it
			// never counts against itself.
			if err := s.lockQuota(ctx, tx, r.Source); err != nil {
				return err
			}
			got, err = s.get(ctx, w, r.Key)
			if err == nil {
				created = false
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := s.checkQuota(ctx, tx, r.Source, r.Key, q); err != nil {
				return err
			}
		}
		got, created, err = s.insertOne(ctx, w, r, events, now)
		return err
	})
	return got, created, err
}

// insertOne adds r with its events and its first history row unless its
// key exists, in the caller's transaction, and returns the stored request.
func (s *Store) insertOne(ctx context.Context, w queryer, r store.Request, events []store.Event, now time.Time) (store.Request, bool, error) {
	got, created, err := s.insertRequest(ctx, w, r)
	if err != nil {
		return store.Request{}, false, err
	}
	if created {
		if err := s.insertEvents(ctx, w, r.Key, events, now); err != nil {
			return store.Request{}, false, err
		}
		if err := s.appendHistory(ctx, w, r.Key, r.State, r.GatewayID, note(ctx, r.Note, r.LastError), r.UpdatedAt, false); err != nil {
			return store.Request{}, false, err
		}
		if s.d.returning {
			return got, true, nil
		}
	}
	got, err = s.get(ctx, w, r.Key)
	return got, created, err
}

// requestArgs are the arguments of d.insertRequest for r, in
// requestColumns' order.
func (d *dialect) requestArgs(r store.Request) []any {
	return []any{r.Key, r.Source, r.EventID, r.Subject, r.ClientToken, r.RegionID, r.VpcID, r.Params,
		string(r.State), r.GatewayID, r.OrderID, r.Attempts, r.LastError,
		d.timeArg(r.CreatedAt), d.timeArg(r.UpdatedAt), d.timeArg(r.AcceptedAt),
		r.LeaseOwner, d.timeArg(r.LeaseUntil), r.TraceParent, r.Caller, r.ChatUser, r.DryRun, r.Data, int(r.ItemScheme), r.Origin, joinSinks(r.Sinks), kindArg(r.Kind),
		d.timeArg(r.ExpiresAt), int(r.ExpiryWarned)}
}

// insertRequest adds r unless its key exists, and says whether it did.
// Where the backend returns the row it inserted (d.returning), got is the
// stored request; otherwise the caller reads it.
func (s *Store) insertRequest(ctx context.Context, w queryer, r store.Request) (got store.Request, created bool, err error) {
	d := s.d
	args := d.requestArgs(r)
	if d.returning {
		got, err = scanRequest(w.QueryRowContext(ctx, d.rebind(d.insertRequest+` RETURNING `+requestColumns), args...))
		if errors.Is(err, sql.ErrNoRows) {
			return store.Request{}, false, nil
		}
		return got, err == nil, err
	}
	res, err := w.ExecContext(ctx, d.rebind(d.insertRequest), args...)
	if err != nil {
		if isDuplicateKey(err) {
			return store.Request{}, false, nil
		}
		return store.Request{}, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Request{}, false, err
	}
	return store.Request{}, n == 1, nil
}

func checkEvents(key string, events []store.Event) error {
	for i, e := range events {
		if e.RequestKey != "" && e.RequestKey != key {
			return fmt.Errorf("event %d (%s) belongs to request %s", i, e.ID, e.RequestKey)
		}
		if e.ID == "" || e.Type == "" {
			return fmt.Errorf("event %d has no id or no type", i)
		}
	}
	return nil
}

// insertEvents appends events to the outbox one statement each, so that seq
// follows the order of events on every backend.
func (s *Store) insertEvents(ctx context.Context, w queryer, key string, events []store.Event, now time.Time) error {
	q := s.d.rebind(`INSERT INTO outbox (id, request_key, type, body, created_at) VALUES (?, ?, ?, ?, ?)`)
	for _, e := range events {
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		if e.Body == nil {
			e.Body = []byte{}
		}
		if _, err := w.ExecContext(ctx, q, e.ID, key, e.Type, e.Body, s.d.timeArg(e.CreatedAt)); err != nil {
			return fmt.Errorf("append event %s: %w", e.ID, err)
		}
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.Request, error) {
	r, err := s.get(ctx, s.reader(), key)
	if err != nil {
		return store.Request{}, fmt.Errorf("store: get %s from %s: %w", key, s.desc, err)
	}
	return r, nil
}

func (s *Store) get(ctx context.Context, q queryer, key string) (store.Request, error) {
	row := q.QueryRowContext(ctx, s.d.rebind(`SELECT `+requestColumns+` FROM requests WHERE request_key = ?`), key)
	r, err := scanRequest(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Request{}, store.ErrNotFound
	}
	return r, err
}

type scanner interface{ Scan(dest ...any) error }

func scanRequest(row scanner) (store.Request, error) {
	var (
		r                                      store.Request
		state, kind                            string
		created, updated, accepted, leaseUntil timeScan
		expires                                timeScan
		sinks                                  string
	)
	err := row.Scan(&r.Key, &r.Source, &r.EventID, &r.Subject, &r.ClientToken, &r.RegionID, &r.VpcID,
		&r.Params, &state, &r.GatewayID, &r.OrderID, &r.Attempts, &r.LastError,
		&created, &updated, &accepted, &r.LeaseOwner, &leaseUntil, &r.TraceParent,
		&r.Caller, &r.ChatUser, &r.DryRun, &r.Data, &r.ItemScheme, &r.Origin, &sinks, &kind,
		&expires, &r.ExpiryWarned)
	if err != nil {
		return store.Request{}, err
	}
	r.Sinks = splitSinks(sinks)
	r.State = store.State(state)
	if kind != kindCreate {
		r.Kind = store.Kind(kind)
	}
	r.CreatedAt, r.UpdatedAt, r.AcceptedAt, r.LeaseUntil = created.t, updated.t, accepted.t, leaseUntil.t
	r.ExpiresAt = expires.t
	return r, nil
}

// Transition implements store.Store.
func (s *Store) Transition(ctx context.Context, key string, from []store.State, to store.State, leaseOwner string, c store.Change, events []store.Event) (store.Request, error) {
	if len(from) == 0 {
		return store.Request{}, fmt.Errorf("store: transition %s: no states to move from", key)
	}
	for _, st := range append(slices.Clone(from), to) {
		if !st.Valid() {
			return store.Request{}, fmt.Errorf("store: transition %s: unknown state %q", key, st)
		}
	}
	if err := checkEvents(key, events); err != nil {
		return store.Request{}, fmt.Errorf("store: transition %s: %w", key, err)
	}
	now := s.now()
	nt := note(ctx, c.Note, c.LastError)

	set := []string{"state = ?", "updated_at = ?", "lease_owner = ''", "lease_until = NULL"}
	args := []any{string(to), s.d.timeArg(now)}
	if c.GatewayID != "" {
		set = append(set, "gateway_id = ?")
		args = append(args, c.GatewayID)
	}
	if c.OrderID != 0 {
		set = append(set, "order_id = ?")
		args = append(args, c.OrderID)
	}
	if c.LastError != "" {
		set = append(set, "last_error = ?")
		args = append(args, c.LastError)
	}
	if c.AddAttempt {
		set = append(set, "attempts = attempts + 1")
	}
	if !c.AcceptedAt.IsZero() {
		set = append(set, "accepted_at = ?")
		args = append(args, s.d.timeArg(c.AcceptedAt))
	}
	q := `UPDATE requests SET ` + strings.Join(set, ", ") + ` WHERE request_key = ? AND state IN (` + marks(len(from)) + `)`
	args = append(args, key)
	for _, st := range from {
		args = append(args, string(st))
	}
	if leaseOwner != "" {
		q += ` AND lease_owner = ?`
		args = append(args, leaseOwner)
	}
	maySame := slices.Contains(from, to)
	var (
		got store.Request
		err error
	)
	if !maySame && s.pgOne(events) {
		got, err = s.pgTransition(ctx, key, q, args, events, nt, now)
	} else {
		got, err = s.transitionTx(ctx, key, to, s.d.rebind(q), args, events, nt, now, maySame)
	}
	if err != nil {
		return store.Request{}, fmt.Errorf("store: transition %s to %s in %s: %w", key, to, s.desc, invalidValue(err))
	}
	return got, nil
}

// transitionTx is Transition as a transaction of several statements; q is
// the UPDATE, rebound, and args its arguments.
func (s *Store) transitionTx(ctx context.Context, key string, to store.State, q string, args []any, events []store.Event, nt store.Note, now time.Time, maySame bool) (got store.Request, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		w := s.in(tx)
		var (
			n   int64
			err error
		)
		if s.d.returning {
			got, err = scanRequest(w.QueryRowContext(ctx, q+` RETURNING `+requestColumns, args...))
			if err == nil {
				n = 1
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		} else {
			res, err := w.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		if n == 0 {
			var one int
			err := w.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM requests WHERE request_key = ?`), key).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			return store.ErrConflict
		}
		if err := s.insertEvents(ctx, w, key, events, now); err != nil {
			return err
		}
		if !s.d.returning {
			if got, err = s.get(ctx, w, key); err != nil {
				return err
			}
		}
		return s.appendHistory(ctx, w, key, to, got.GatewayID, nt, now, maySame)
	})
	return got, err
}

// Claim implements store.Store. It leases at most 500 requests per call; callers
// loop for more. Claiming does not change UpdatedAt, which records changes of
// state and data only.
func (s *Store) Claim(ctx context.Context, states []store.State, owner string, now time.Time, lease time.Duration, limit int) ([]store.Request, error) {
	if owner == "" {
		return nil, errors.New("store: claim: no lease owner")
	}
	if lease <= 0 {
		return nil, fmt.Errorf("store: claim: lease must be positive, got %s", lease)
	}
	if limit <= 0 || len(states) == 0 {
		return nil, nil
	}
	limit = min(limit, maxBatch)
	until := normTime(now.Add(lease))
	where := claimWhere(len(states))
	args := make([]any, 0, len(states)+2)
	for _, st := range states {
		args = append(args, string(st))
	}
	args = append(args, s.d.timeArg(now), limit)

	var got []store.Request
	var err error
	if s.d.claimReturning {
		got, err = s.claimReturning(ctx, where, args, owner, until)
	} else {
		got, err = s.claimSelectUpdate(ctx, where, args, owner, until)
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim for %s in %s: %w", owner, s.desc, err)
	}
	return got, nil
}

// claimReturning locks the oldest claimable rows, skipping rows another
// claimer holds, and leases them in the same statement.
func (s *Store) claimReturning(ctx context.Context, where string, args []any, owner string, until time.Time) ([]store.Request, error) {
	q := s.d.rebind(`WITH c AS (
		SELECT request_key FROM requests WHERE ` + where + `
		ORDER BY created_at, request_key LIMIT ?` + s.d.skipLocked + `)
	UPDATE requests SET lease_owner = ?, lease_until = ?
	FROM c WHERE requests.request_key = c.request_key
	RETURNING ` + qualified("requests", requestColumns))
	args = append(args, owner, s.d.timeArg(until))
	var got []store.Request
	err := s.retry(ctx, func() error {
		rows, err := s.wdb.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		got, err = scanRequests(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING follows no ORDER BY; give callers oldest first.
	slices.SortFunc(got, func(a, b store.Request) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return got, nil
}

// claimWhere selects the requests in one of n states whose lease is free
// or expired. One state (reconcile's every claim) is an equality, which the
// claim index (state, created_at, request_key) serves in the claim's order,
// stopping at its limit; a list of states is read and sorted whole.
func claimWhere(n int) string {
	if n == 1 {
		return `state = ? AND (lease_until IS NULL OR lease_until < ?)`
	}
	return `state IN (` + marks(n) + `) AND (lease_until IS NULL OR lease_until < ?)`
}

// claimQuery is the SELECT of claimSelectUpdate.
func (s *Store) claimQuery(where string) string {
	return s.d.rebind(`SELECT ` + requestColumns + ` FROM requests WHERE ` + where +
		` ORDER BY created_at, request_key LIMIT ?` + s.d.skipLocked)
}

// claimSelectUpdate reads and locks the oldest claimable rows (skipping
// locked ones where the backend can; SQLite's write transaction already
// excludes every other writer), then leases them, in one transaction.
func (s *Store) claimSelectUpdate(ctx context.Context, where string, args []any, owner string, until time.Time) ([]store.Request, error) {
	sel := s.claimQuery(where)
	var got []store.Request
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		w := s.in(tx)
		rows, err := w.QueryContext(ctx, sel, args...)
		if err != nil {
			return err
		}
		got, err = scanRequests(rows)
		if err != nil || len(got) == 0 {
			return err
		}
		upd := []any{owner, s.d.timeArg(until)}
		for _, r := range got {
			upd = append(upd, r.Key)
		}
		_, err = w.ExecContext(ctx, s.d.rebind(`UPDATE requests SET lease_owner = ?, lease_until = ?
			WHERE request_key IN (`+marks(len(got))+`)`), upd...)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range got {
		got[i].LeaseOwner, got[i].LeaseUntil = owner, until
	}
	return got, nil
}

func scanRequests(rows *sql.Rows) ([]store.Request, error) {
	return scanAll(rows, scanRequest)
}

// scanAll reads every row with scan, and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryRequests runs q on the read pool and scans its rows as requests. An
// error reads "store: <what> <the store>: <cause>".
func (s *Store) queryRequests(ctx context.Context, what, q string, args ...any) ([]store.Request, error) {
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", what, s.desc, err)
	}
	out, err := scanRequests(rows)
	if err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", what, s.desc, err)
	}
	return out, nil
}

// scanColumn reads rows of one column of type T as query arguments, and
// closes rows.
func scanColumn[T any](rows *sql.Rows) ([]any, error) {
	return scanAll(rows, func(row scanner) (any, error) {
		var v T
		err := row.Scan(&v)
		return v, err
	})
}

// Release implements store.Store. Keys not leased by owner (never claimed, already
// transitioned, or taken over after the lease expired) are left alone.
func (s *Store) Release(ctx context.Context, owner string, keys []string) error {
	if owner == "" {
		return errors.New("store: release: no lease owner")
	}
	if len(keys) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(keys, maxBatch) {
			args := []any{owner}
			for _, k := range chunk {
				args = append(args, k)
			}
			_, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE requests SET lease_owner = '', lease_until = NULL
				WHERE lease_owner = ? AND request_key IN (`+marks(len(chunk))+`)`), args...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: release %d requests for %s in %s: %w", len(keys), owner, s.desc, err)
	}
	return nil
}

// Unsent implements store.Store: UnsentFor the first sink.
func (s *Store) Unsent(ctx context.Context, limit int) ([]store.Event, error) {
	return s.UnsentFor(ctx, store.FirstSink, limit)
}

// MarkSent implements store.Store: MarkSentFor the first sink, the only one.
func (s *Store) MarkSent(ctx context.Context, seqs []int64) error {
	return s.MarkSentFor(ctx, store.FirstSink, seqs, []string{store.FirstSink})
}

// Park implements store.Store: ParkFor the first sink, the only one.
func (s *Store) Park(ctx context.Context, seq int64, reason string) error {
	return s.ParkFor(ctx, store.FirstSink, seq, reason, []string{store.FirstSink})
}

// Parked implements store.Store: ParkedFor the first sink.
func (s *Store) Parked(ctx context.Context, limit int) ([]store.Event, error) {
	return s.ParkedFor(ctx, store.FirstSink, limit)
}

// CountParked implements store.Store: CountParkedFor the first sink.
func (s *Store) CountParked(ctx context.Context) (int, error) {
	return s.CountParkedFor(ctx, store.FirstSink)
}

// Unpark implements store.Store: UnparkFor the first sink.
func (s *Store) Unpark(ctx context.Context, seqs []int64) (int, error) {
	return s.UnparkFor(ctx, store.FirstSink, seqs)
}

// Count returns how many requests are in one of states, or in any state when
// none are given.
func (s *Store) Count(ctx context.Context, states ...store.State) (int, error) {
	q := `SELECT COUNT(*) FROM requests`
	var args []any
	if len(states) > 0 {
		q += ` WHERE state IN (` + marks(len(states)) + `)`
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, s.d.rebind(q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count requests in %s: %w", s.desc, err)
	}
	return n, nil
}

// ListFilter selects requests for List.
type ListFilter struct {
	States   []store.State // any state when empty
	AfterKey string        // resume after this key (keys are listed in order)
	Limit    int           // at most this many; 100 when 0, capped at 500
}

// List returns requests in key order, a page at a time: pass the last key of
// one page as AfterKey for the next.
func (s *Store) List(ctx context.Context, f ListFilter) ([]store.Request, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxBatch)
	q := `SELECT ` + requestColumns + ` FROM requests WHERE request_key > ?`
	args := []any{f.AfterKey}
	if len(f.States) > 0 {
		q += ` AND state IN (` + marks(len(f.States)) + `)`
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	q += ` ORDER BY request_key LIMIT ?`
	args = append(args, limit)
	return s.queryRequests(ctx, "list requests in", q, args...)
}

// marks is n comma-separated placeholders.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// qualified prefixes every column in a comma-separated list with table.
func qualified(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// timeScan reads a nullable time column from any backend: a native timestamp
// (PostgreSQL, MySQL with parseTime) or SQLite's fixed-width text. NULL is
// the zero time. Times come back in UTC.
type timeScan struct{ t time.Time }

func (ts *timeScan) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		ts.t = time.Time{}
	case time.Time:
		ts.t = v.UTC()
	case string:
		return ts.parse(v)
	case []byte:
		return ts.parse(string(v))
	default:
		return fmt.Errorf("store: cannot read %T as a time", v)
	}
	return nil
}

func (ts *timeScan) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: stored time %q: %w", s, err)
	}
	ts.t = t.UTC()
	return nil
}
