//go:build sqlite

package app

// Built with -tags sqlite, a function binary opens sqlite:// stores too: the
// function tests run the binaries on an SQLite file. Shipped binaries
// (make build) are built without it.
import _ "github.com/vpngw/vpngw/internal/store/sqlstore/sqlite"
