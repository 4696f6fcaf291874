package sqlstore

import (
	"errors"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The package's own tests run on SQLite too, but cannot import package
// sqlstore/sqlite (it imports this one): they link the driver themselves.
func init() {
	RegisterSQLite(func(err error) bool {
		var se *msqlite.Error
		return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED)
	})
}
