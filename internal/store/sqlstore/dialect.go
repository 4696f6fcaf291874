package sqlstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vpngw/vpngw/internal/store"
)

// dialect holds what differs between the backends. Everything else, from the
// statements' shape to the transactions, is shared.
type dialect struct {
	kind string // "sqlite", "postgres", "mysql"
	// dollar: placeholders are $1, $2… instead of ?.
	dollar bool
	// textTime: times are stored as fixed-width UTC text rather than as a
	// native timestamp type.
	textTime bool
	// skipLocked is appended to Claim's SELECT so that concurrent claimers
	// step over each other's rows instead of waiting for them.
	skipLocked string
	// insertRequest is the INSERT that adds a request unless its key exists.
	insertRequest string
	// claimReturning: Claim is one UPDATE … RETURNING statement.
	claimReturning bool
	// readCommitted: write transactions ask for READ COMMITTED, so that a
	// statement after a conflict sees the row the other transaction committed.
	readCommitted bool
	// returning: INSERT and UPDATE take RETURNING, so that a write hands
	// back the stored row without a read after it.
	returning bool
	// prepare: the store keeps its statements prepared (stmtCache).
	prepare bool
}

const requestColumns = `request_key, source, event_id, subject, client_token, region_id, vpc_id, params,
	state, gateway_id, order_id, attempts, last_error, created_at, updated_at, accepted_at,
	lease_owner, lease_until, trace_parent, caller, chat_user, dry_run, request_data, item_scheme, origin, sinks, kind,
	expires_at, expiry_warned`

const insertRequestValues = `INSERT INTO requests (` + requestColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

var (
	sqliteDialect = &dialect{
		kind:     "sqlite",
		textTime: true,
		// The unique key decides: a second insert of the key does nothing and
		// reports no affected row.
		insertRequest: insertRequestValues + ` ON CONFLICT (request_key) DO NOTHING`,
		returning:     true,
		prepare:       true,
	}
	postgresDialect = &dialect{
		kind:           "postgres",
		dollar:         true,
		skipLocked:     ` FOR UPDATE SKIP LOCKED`,
		insertRequest:  insertRequestValues + ` ON CONFLICT (request_key) DO NOTHING`,
		claimReturning: true,
		readCommitted:  true,
		returning:      true,
	}
	mysqlDialect = &dialect{
		kind:       "mysql",
		skipLocked: ` FOR UPDATE SKIP LOCKED`,
		// INSERT IGNORE would also turn truncation and other data errors into
		// warnings, and ON DUPLICATE KEY UPDATE reports an unchanged existing
		// row as affected under CLIENT_FOUND_ROWS; a plain INSERT whose
		// duplicate-key error (1062) means "exists" says exactly what happened.
		// InnoDB rolls back only the failed statement, not the transaction.
		insertRequest: insertRequestValues,
		readCommitted: true,
	}
)

// rebind turns ? placeholders into the dialect's. The statements here hold no
// ? inside literals.
func (d *dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// timeLayout is how SQLite stores times: fixed width, so that text order is
// time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// normTime is t as every backend stores it: UTC, whole microseconds.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// timeArg encodes t for a statement; the zero time is NULL.
func (d *dialect) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = normTime(t)
	if d.textTime {
		return t.Format(timeLayout)
	}
	return t
}

// isDuplicateKey reports whether err is MySQL's duplicate-key error.
func isDuplicateKey(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// invalidValue marks err with store.ErrInvalidValue when the database
// refused a value itself: PostgreSQL's data exceptions (class 22: a string
// too long, NUL or a character the encoding lacks), MySQL's "data too long"
// (1406), "incorrect string value" (1366) and "out of range" (1264).
// SQLite keeps whatever text it is given.
func invalidValue(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22") {
		return fmt.Errorf("%w: %w", store.ErrInvalidValue, err)
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1406 || me.Number == 1366 || me.Number == 1264) {
		return fmt.Errorf("%w: %w", store.ErrInvalidValue, err)
	}
	return err
}

// retryable reports whether err means the transaction lost a race with
// another one and can simply be run again: a deadlock, a serialization
// failure, a lock wait that timed out, or SQLite's file lock held by another
// process for longer than busy_timeout.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	return sqliteLocked != nil && sqliteLocked(err)
}
