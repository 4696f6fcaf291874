package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache keeps the store's statements prepared on SQLite, where parsing
// and planning a statement costs more than running most of them: without
// it, every call parsed its statements again (13 % of the CPU of a
// provision request went to sqlite3Prepare).
//
// PostgreSQL needs none here: its driver (pgdriver) keeps each statement
// prepared on its connection, prepared in the same round trip as its first
// run. MySQL's driver
// interpolates the arguments (interpolateParams), one round trip per
// statement, where a prepared statement would cost a round trip more on
// its first use on each connection.
//
// A statement is prepared on the pool, which takes a connection: SQLite's
// writer pool has one, which a transaction holds. So a statement first met
// inside a transaction runs unprepared there and is prepared once the
// transaction has ended (flush), and from then on every transaction reuses
// it on its connection (database/sql's Tx.StmtContext keeps one prepared
// statement per connection).
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	// stmts holds the prepared statements by text; a nil entry is a
	// statement wanted, to be prepared by flush, and wanted counts those.
	stmts  map[string]*sql.Stmt
	wanted int
}

// maxCached bounds the statements kept prepared: the store's statements
// with a list of n placeholders (a chunk of keys or seqs) are one text per
// n, and those past the bound run unprepared, as every statement did
// before.
const maxCached = 200

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for q, or nil when it is not prepared
// yet; then want says that it should be.
func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.stmts[q]
	if !ok && len(c.stmts) < maxCached {
		c.stmts[q] = nil
		c.wanted++
	}
	return st
}

// prepared returns the statement for q, preparing it now if need be
// (errFull when the cache is full: run q unprepared). It must not be
// called while a transaction of the pool holds the writer's connection.
func (c *stmtCache) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if st := c.get(q); st != nil {
		return st, nil
	}
	c.mu.Lock()
	_, room := c.stmts[q]
	c.mu.Unlock()
	if !room {
		return nil, errFull
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	have, ok := c.stmts[q]
	switch {
	case have != nil:
		// Prepared meanwhile by another caller.
		st.Close()
		return have, nil
	case !ok:
		// The cache was closed meanwhile.
		st.Close()
		return nil, errFull
	}
	c.wanted--
	c.stmts[q] = st
	return st, nil
}

// errFull: the statement is not kept prepared.
var errFull = errors.New("statement cache full")

// flush prepares the statements wanted since the last flush. A statement
// that does not prepare (a table a migration has yet to make) is left
// wanted: it runs unprepared and is tried again after the next
// transaction.
func (c *stmtCache) flush(ctx context.Context) {
	c.mu.Lock()
	if c.wanted == 0 {
		c.mu.Unlock()
		return
	}
	var wanted []string
	for q, st := range c.stmts {
		if st == nil {
			wanted = append(wanted, q)
		}
	}
	c.mu.Unlock()
	for _, q := range wanted {
		if ctx.Err() != nil {
			return
		}
		_, _ = c.prepared(ctx, q)
	}
}

// close closes every prepared statement.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.stmts {
		if st != nil {
			errs = append(errs, st.Close())
		}
		delete(c.stmts, q)
	}
	c.wanted = 0
	return errors.Join(errs...)
}

// txRunner runs statements in a write transaction, through the writer's
// prepared statements where it has them.
type txRunner struct {
	tx    *sql.Tx
	cache *stmtCache // nil: no cache (PostgreSQL, MySQL)
}

func (r txRunner) stmt(ctx context.Context, q string) *sql.Stmt {
	if r.cache == nil {
		return nil
	}
	st := r.cache.get(q)
	if st == nil {
		return nil
	}
	return r.tx.StmtContext(ctx, st)
}

// ExecContext runs q in the transaction.
func (r txRunner) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := r.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return r.tx.ExecContext(ctx, q, args...)
}

// QueryContext runs q in the transaction.
func (r txRunner) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q in the transaction.
func (r txRunner) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.tx.QueryRowContext(ctx, q, args...)
}

// dbRunner runs statements on a pool outside any transaction (reads),
// prepared where the pool has a cache.
type dbRunner struct {
	db    *sql.DB
	cache *stmtCache // nil: no cache
}

func (r dbRunner) stmt(ctx context.Context, q string) *sql.Stmt {
	if r.cache == nil {
		return nil
	}
	st, err := r.cache.prepared(ctx, q)
	if err != nil {
		// Run unprepared: the statement's own run reports what is wrong.
		return nil
	}
	return st
}

// ExecContext runs q.
func (r dbRunner) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := r.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return r.db.ExecContext(ctx, q, args...)
}

// QueryContext runs q.
func (r dbRunner) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.db.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q.
func (r dbRunner) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.db.QueryRowContext(ctx, q, args...)
}
