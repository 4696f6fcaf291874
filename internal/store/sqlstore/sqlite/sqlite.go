// Package sqlite links SQLite into a binary: importing it registers the
// pure-Go SQLite driver (modernc.org/sqlite) with database/sql and lets
// sqlstore.Open open sqlite:// stores.
//
// Only the local stack, vpngwctl, tools and tests import it. The function
// binaries do not: an SQLite file lives in one instance, which no other
// instance reaches, so a deployed function takes postgres:// or mysql://;
// and the SQLite C runtime, translated to Go, was a quarter of each
// function's binary and a millisecond of its cold start.
package sqlite

import (
	"errors"

	msqlite "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

func init() { sqlstore.RegisterSQLite(Locked) }

// Locked reports SQLite's file lock held by another connection for longer
// than busy_timeout: a transaction that may simply be run again.
func Locked(err error) bool {
	var se *msqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}
