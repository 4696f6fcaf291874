package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
)

// inLaxTx is inTx for a transaction whose loss in a crash of the machine
// (not of the process) costs nothing but a repeat: its commit does not wait
// for the disk. MarkSentFor is the one caller. What it records is that a
// sink acknowledged an event; were that lost, the next drain would publish
// the event again under the same id, which the sink and the consumers drop
// as a duplicate, as they already must after a crash between a publish and
// its mark. Every state change, its history and its outbox events still
// commit with the wait (inTx), so an outcome never leaves before the change
// it announces is on disk.
//
//   - PostgreSQL: SET LOCAL synchronous_commit = off, for this transaction
//     only. The server may lose the last such transactions in a crash of
//     its own, never part of one, and never one committed before them.
//   - SQLite (WAL): PRAGMA synchronous = NORMAL around the transaction on
//     the writer's connection, then FULL again. The commit is appended to
//     the write-ahead log without fsync; the next state change's commit
//     (FULL) syncs the log, and with it this one. When the URL sets
//     _synchronous (or _sync) itself, the store leaves it as the operator
//     chose, and this is inTx.
//   - MySQL: innodb_flush_log_at_trx_commit is the server's alone: inTx.
func (s *Store) inLaxTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	switch {
	case s.d.kind == "postgres":
		return s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
			return fn(tx)
		})
	case s.laxSQLite:
		err := s.inSQLiteLaxTx(ctx, fn)
		s.wcache.flush(ctx)
		return err
	}
	return s.inTx(ctx, fn)
}

// inSQLiteLaxTx is inLaxTx on SQLite: the writer's one connection, held
// from the first pragma to the second so that no other transaction commits
// in between.
func (s *Store) inSQLiteLaxTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return err
	}
	err = s.runTx(ctx, func() (*sql.Tx, error) { return conn.BeginTx(ctx, nil) }, fn)
	// Back to FULL whatever happened, even past ctx's end: a connection
	// left lax would commit the next state change without fsync.
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`); rerr != nil {
		// Drop the connection instead: the pool opens another, FULL from
		// the URL.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(err, rerr)
	}
	return err
}
