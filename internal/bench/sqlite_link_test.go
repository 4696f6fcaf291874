package bench

// The tests open sqlite:// stores, which only binaries that import this link.
import _ "github.com/vpngw/vpngw/internal/store/sqlstore/sqlite"
