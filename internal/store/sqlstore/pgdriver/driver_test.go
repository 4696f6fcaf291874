package pgdriver_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vpngw/vpngw/internal/store/sqlstore/pgdriver"
	"github.com/vpngw/vpngw/internal/testenv"
)

// open returns a pool on the test server, through the driver.
func open(t *testing.T, rawURL string) *sql.DB {
	t.Helper()
	cfg, err := pgdriver.ParseConfig(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgdriver.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

func serverDB(t *testing.T) *sql.DB {
	return open(t, testenv.URL(t, testenv.PostgresEnv))
}

// session is one connection to the test server, so that session settings
// and temporary tables stay with the statements after them.
func session(t *testing.T) *sql.Conn {
	t.Helper()
	conn, err := serverDB(t).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Each type the server sends, read back as a SELECT of it: what
// database/sql hands a Scan into any.
func TestDecodeEachType(t *testing.T) {
	ctx := context.Background()
	conn := session(t)
	at := time.Date(2026, 12, 2, 8, 0, 0, 123456000, time.UTC)
	tests := []struct {
		expr string
		want any
	}{
		{`NULL::text`, nil},
		{`NULL::int8`, nil},
		{`true`, true},
		{`false`, false},
		{`(-32768)::int2`, int64(-32768)},
		{`2147483647::int4`, int64(math.MaxInt32)},
		{`(-9223372036854775808)::int8`, int64(math.MinInt64)},
		{`4294967295::oid`, int64(4294967295)},
		{`1.5::float4`, float64(1.5)},
		{`0.1::float8`, 0.1},
		{`1e308::float8`, 1e308},
		{`'-Infinity'::float8`, math.Inf(-1)},
		{`'héllo, ''world'''::text`, "héllo, 'world'"},
		{`'v'::varchar(4)`, "v"},
		{`'c'::char(3)`, "c  "},
		{`'n'::name`, "n"},
		{`'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid`, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{`12345678901234567890.0123456789::numeric`, "12345678901234567890.0123456789"},
		{`'{"a": [1, "x"]}'::json`, []byte(`{"a": [1, "x"]}`)},
		{`'{"a": [1, "x"]}'::jsonb`, []byte(`{"a": [1, "x"]}`)},
		{`'\x00ff5c27'::bytea`, []byte{0, 0xff, '\\', '\''}},
		{`''::bytea`, []byte{}},
		{`'2026-12-02 08:00:00.123456+00'::timestamptz`, at},
		{`'2026-12-02 08:00:00+00'::timestamptz`, at.Truncate(time.Second)},
		{`'2026-12-02 08:00:00.123456'::timestamp`, at},
		{`'2026-12-02'::date`, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		{`'0044-03-15 12:00:00+00 BC'::timestamptz`, time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC)},
		{`'20260-01-01 00:00:00+00'::timestamptz`, time.Date(20260, 1, 1, 0, 0, 0, 0, time.UTC)},
		{`'infinity'::timestamptz`, "infinity"},
		{`'-infinity'::date`, "-infinity"},
		{`interval '1 day 2 hours'`, "1 day 02:00:00"},
	}
	for _, zone := range []string{"UTC", "Asia/Kathmandu", "America/St_Johns"} {
		for _, byteaOut := range []string{"hex", "escape"} {
			if _, err := conn.ExecContext(ctx, "SET TimeZone = '"+zone+"'; SET bytea_output = "+byteaOut); err != nil {
				t.Fatal(err)
			}
			for _, tc := range tests {
				var got any
				if err := conn.QueryRowContext(ctx, `SELECT `+tc.expr).Scan(&got); err != nil {
					t.Errorf("%s (TimeZone %s, bytea_output %s): %v", tc.expr, zone, byteaOut, err)
					continue
				}
				if !same(got, tc.want) {
					t.Errorf("%s (TimeZone %s, bytea_output %s) = %#v (%T), want %#v (%T)", tc.expr, zone, byteaOut, got, got, tc.want, tc.want)
				}
			}
		}
	}
}

func same(got, want any) bool {
	switch w := want.(type) {
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.IsNaN(g) && math.IsNaN(w))
	}
	return got == want
}

// Arguments of every kind database/sql passes go to the server and come
// back unchanged, into the types the store's columns have, and as untyped
// parameters whose type the server infers.
func TestArgumentsRoundTrip(t *testing.T) {
	ctx := context.Background()
	conn := session(t)
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE a (t TEXT, b BYTEA, i BIGINT, s SMALLINT, f DOUBLE PRECISION,
		ok BOOLEAN, at TIMESTAMPTZ, day DATE, wall TIMESTAMP, n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	body := []byte("{\"k\":\"a\\\\b\"}\x00\xff\\x41")
	at := time.Date(2026, 12, 2, 8, 0, 0, 123456000, time.FixedZone("", 5*3600+45*60))
	old := time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC)
	_, err := conn.ExecContext(ctx, `INSERT INTO a VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		"it's \\ a 'test' ü", body, int64(math.MaxInt64), 7, 0.1, true, at, at, at, nil)
	if err != nil {
		t.Fatal(err)
	}
	var (
		txt        string
		b          []byte
		i, s       int64
		f          float64
		ok         bool
		got, wall  time.Time
		day        time.Time
		n          sql.NullInt64
		oldGot     time.Time
		emptyBytes []byte
	)
	err = conn.QueryRowContext(ctx, `SELECT t, b, i, s, f, ok, at, day, wall, n FROM a WHERE t = $1 AND b = $2 AND ok = $3`,
		"it's \\ a 'test' ü", body, true).Scan(&txt, &b, &i, &s, &f, &ok, &got, &day, &wall, &n)
	if err != nil {
		t.Fatal(err)
	}
	if txt != "it's \\ a 'test' ü" || !bytes.Equal(b, body) || i != math.MaxInt64 || s != 7 || f != 0.1 || !ok || n.Valid {
		t.Errorf("read back %q %q %d %d %v %v %v", txt, b, i, s, f, ok, n)
	}
	if !got.Equal(at) {
		t.Errorf("timestamptz: %v, want %v", got, at)
	}
	if want := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC); !day.Equal(want) {
		t.Errorf("date: %v, want %v", day, want)
	}
	if want := time.Date(2026, 12, 2, 8, 0, 0, 123456000, time.UTC); !wall.Equal(want) {
		t.Errorf("timestamp: %v, want %v (the argument's wall clock)", wall, want)
	}
	if err := conn.QueryRowContext(ctx, `SELECT $1::timestamptz`, old).Scan(&oldGot); err != nil || !oldGot.Equal(old) {
		t.Errorf("a BC time: %v, %v; want %v", oldGot, err, old)
	}
	if err := conn.QueryRowContext(ctx, `SELECT $1::bytea`, []byte{}).Scan(&emptyBytes); err != nil || emptyBytes == nil || len(emptyBytes) != 0 {
		t.Errorf("empty bytea: %#v, %v; want an empty, non-NULL value", emptyBytes, err)
	}
	var isNull bool
	if err := conn.QueryRowContext(ctx, `SELECT $1::bytea IS NULL`, []byte(nil)).Scan(&isNull); err != nil || !isNull {
		t.Errorf("a nil []byte: IS NULL = %v, %v; want true", isNull, err)
	}
	// Untyped: the server infers text, and the text comes back.
	var untyped any
	if err := conn.QueryRowContext(ctx, `SELECT $1`, int64(42)).Scan(&untyped); err != nil || untyped != "42" {
		t.Errorf("SELECT $1 with 42 = %#v, %v", untyped, err)
	}
	for _, v := range []float64{math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64, math.MaxFloat64} {
		var back float64
		if err := conn.QueryRowContext(ctx, `SELECT $1::float8`, v).Scan(&back); err != nil || !same(back, v) {
			t.Errorf("float %v came back %v, %v", v, back, err)
		}
	}
}

// Isolation levels and read-only go into BEGIN; a commit the server turns
// into a rollback is an error; SQLSTATEs arrive as *pgconn.PgError.
func TestTransactions(t *testing.T) {
	db := serverDB(t)
	ctx := context.Background()
	levels := map[sql.IsolationLevel]string{
		sql.LevelDefault:        "read committed",
		sql.LevelReadCommitted:  "read committed",
		sql.LevelRepeatableRead: "repeatable read",
		sql.LevelSnapshot:       "repeatable read",
		sql.LevelSerializable:   "serializable",
	}
	for level, want := range levels {
		for _, ro := range []bool{false, true} {
			tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: level, ReadOnly: ro})
			if err != nil {
				t.Fatal(err)
			}
			var iso, readOnly string
			if err := tx.QueryRowContext(ctx, `SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')`).Scan(&iso, &readOnly); err != nil {
				t.Fatal(err)
			}
			if iso != want || (readOnly == "on") != ro {
				t.Errorf("%v read-only %v: the server has %s, read-only %s", level, ro, iso, readOnly)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelLinearizable}); err == nil {
		t.Error("LevelLinearizable began a transaction")
	}

	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.ExecContext(ctx, `CREATE TEMP TABLE ro (x int)`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "25006" {
		t.Errorf("a write in a read-only transaction: %v, want SQLSTATE 25006", err)
	}
	if err := tx.Commit(); !errors.Is(err, pgdriver.ErrTxCommitRollback) {
		t.Errorf("commit after a failed statement: %v, want ErrTxCommitRollback", err)
	}

	// A committed transaction is seen by another session; a rolled-back
	// one is not.
	table := testenv.UniqueName("tx")
	if _, err := db.ExecContext(ctx, `CREATE TABLE `+table+` (k text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	defer db.ExecContext(ctx, `DROP TABLE `+table)
	for _, commit := range []bool{true, false} {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` VALUES ($1)`, map[bool]string{true: "c", false: "r"}[commit]); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var keys string
	if err := db.QueryRowContext(ctx, `SELECT string_agg(k, ',') FROM `+table).Scan(&keys); err != nil || keys != "c" {
		t.Errorf("after a commit and a rollback the table holds %q (%v), want c", keys, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO `+table+` VALUES ($1)`, "c")
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Errorf("a duplicate key: %v, want SQLSTATE 23505", err)
	}
	res, err := db.ExecContext(ctx, `UPDATE `+table+` SET k = k WHERE k = $1`, "c")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("RowsAffected = %d, want 1", n)
	}
}

// Without arguments Exec takes several statements, as a migration file
// holds; with arguments it refuses them, as the extended protocol does.
func TestExecWithoutArgumentsRunsSeveralStatements(t *testing.T) {
	ctx := context.Background()
	conn := session(t)
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE m (x int); INSERT INTO m VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM m`).Scan(&n); err != nil || n != 2 {
		t.Errorf("count = %d, %v; want 2", n, err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO m VALUES ($1); INSERT INTO m VALUES (3)`, 4); err == nil {
		t.Error("two statements with arguments ran")
	}
}

// A query runs until its context ends, not to its own end; the pool goes on
// working afterwards.
func TestCancelMidQuery(t *testing.T) {
	db := serverDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := db.ExecContext(ctx, `SELECT pg_sleep($1)`, 10)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("pg_sleep(10) under a 300 ms deadline: %v, want context.DeadlineExceeded", err)
	}
	if took > 3*time.Second {
		t.Errorf("the deadline took %v to end the statement", took)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel2)
	rows, err := db.QueryContext(ctx2, `SELECT x, pg_sleep(CASE WHEN x = 3 THEN 10 ELSE 0 END) FROM generate_series(1, 5) x`)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a query cancelled between its rows: %v, want context.Canceled", err)
	}

	// A statement the connection already keeps prepared ends the same way.
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_sleep($1) /* again */`, 0); err != nil {
		t.Fatal(err)
	}
	ctx3, cancel3 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel3()
	start = time.Now()
	_, err = conn.ExecContext(ctx3, `SELECT pg_sleep($1) /* again */`, 10)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("a prepared pg_sleep(10) under a 300 ms deadline: %v after %v", err, time.Since(start))
	}

	var one int
	if err := db.QueryRowContext(context.Background(), `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Errorf("after the cancellations: %d, %v", one, err)
	}
}

// A server that is not there is an error, soon, that names where it tried.
func TestRefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	db := open(t, "postgres://vpngw@"+addr+"/gwdb?sslmode=disable&connect_timeout=3")
	start := time.Now()
	err = db.PingContext(context.Background())
	if err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	if !strings.Contains(err.Error(), addr) && !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error %q does not name the address", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("the refusal took %v", time.Since(start))
	}
}

// sslmode=require against the test server, which has TLS, makes an
// encrypted session (a server without TLS is refused: sqlstore's
// TestPostgresRequireRefusesAServerWithoutTLS).
func TestTLSRequired(t *testing.T) {
	var encrypted bool
	err := open(t, serverURL(t, map[string]string{"sslmode": "require"})).QueryRowContext(context.Background(),
		`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&encrypted)
	if err != nil {
		t.Fatal(err)
	}
	if !encrypted {
		t.Error("sslmode=require against a server with TLS: the session is not encrypted")
	}
}

// What the server or the dialler refuses never carries the password.
func TestErrorsLeaveOutThePassword(t *testing.T) {
	const pw = "Sekr3t-Pa55w0rd"
	u, err := url.Parse(testenv.URL(t, testenv.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	u.Path = "/" + testenv.UniqueName("nosuchdb")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, raw := range []string{
		u.String(),
		"postgres://vpngw:" + pw + "@" + closed + "/gwdb?sslmode=disable&connect_timeout=2",
		"host=" + strings.Split(closed, ":")[0] + " port=" + strings.Split(closed, ":")[1] + " user=vpngw password=" + pw + " dbname=gwdb sslmode=disable",
	} {
		err := open(t, raw).PingContext(context.Background())
		if err == nil {
			t.Fatalf("%s: connected", u.Redacted())
		}
		t.Log(err)
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the error reveals the password: %v", err)
		}
	}
}

// pgx's own URL parameters are accepted and dropped instead of reaching the
// server as settings it does not know.
func TestPgxParametersAccepted(t *testing.T) {
	raw := serverURL(t, map[string]string{"default_query_exec_mode": "exec", "statement_cache_capacity": "100", "DateStyle": "SQL"})
	var at time.Time
	if err := open(t, raw).QueryRowContext(context.Background(), `SELECT '2026-12-02 08:00:00+00'::timestamptz`).Scan(&at); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC); !at.Equal(want) {
		t.Errorf("read %v, want %v", at, want)
	}
}

// A connection whose server process ended (a restart, a failover, an
// administrator) is dropped from the pool: after more than a second idle
// it is pinged before reuse and replaced, so the statement succeeds; taken
// at once, its one statement fails and the next one gets a new connection.
func TestPoolReplacesAConnectionTheServerEnded(t *testing.T) {
	ctx := context.Background()
	db := serverDB(t)
	db.SetMaxIdleConns(1)
	admin := serverDB(t)
	pid := func() int {
		var p int
		if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kill := func(p int) {
		var ok bool
		if err := admin.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, p).Scan(&ok); err != nil || !ok {
			t.Fatalf("pg_terminate_backend(%d): %v, %v", p, ok, err)
		}
	}

	first := pid()
	kill(first)
	time.Sleep(1100 * time.Millisecond)
	if second := pid(); second == first {
		t.Errorf("after a second idle the pool reused the ended connection %d", first)
	}

	third := pid()
	kill(third)
	time.Sleep(50 * time.Millisecond)
	// Taken at once: no ping; the statement may meet the ended session.
	var one int
	_ = db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	if got := pid(); got == third {
		t.Errorf("the pool still hands out the ended connection %d", third)
	}
}

// serverURL is the test server's URL with params set in its query.
func serverURL(t *testing.T, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(testenv.URL(t, testenv.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// sessionAt is session on the test server with extra URL parameters.
func sessionAt(t *testing.T, params map[string]string) *sql.Conn {
	t.Helper()
	conn, err := open(t, serverURL(t, params)).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// prepared counts the statements the session keeps prepared on the server.
func prepared(t *testing.T, conn *sql.Conn, like string) int {
	t.Helper()
	var n int
	if err := conn.QueryRowContext(context.Background(), `SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1`, like).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A statement is prepared on its first run (in the same round trip) and
// reused after; default_query_exec_mode=exec, for a transaction-mode
// pooler, keeps none prepared.
func TestStatementsPreparedOnce(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		params map[string]string
		want   int
	}{
		{nil, 1},
		{map[string]string{"default_query_exec_mode": "cache_statement"}, 1},
		{map[string]string{"default_query_exec_mode": "exec"}, 0},
		{map[string]string{"statement_cache_capacity": "0"}, 0},
	} {
		conn := sessionAt(t, tc.params)
		for i := range 3 {
			var n int
			if err := conn.QueryRowContext(ctx, `SELECT $1::int + 1 /* once */`, i).Scan(&n); err != nil || n != i+1 {
				t.Fatalf("%v: run %d: %d, %v", tc.params, i, n, err)
			}
		}
		if got := prepared(t, conn, "%/* once */%"); got != tc.want {
			t.Errorf("%v: %d statements prepared, want %d", tc.params, got, tc.want)
		}
	}
	if _, err := pgdriver.ParseConfig("postgres://u@h/db?default_query_exec_mode=fastest"); err == nil {
		t.Error("default_query_exec_mode=fastest was accepted")
	}
	if _, err := pgdriver.ParseConfig("postgres://u@h/db?statement_cache_capacity=many"); err == nil {
		t.Error("statement_cache_capacity=many was accepted")
	}
}

// Beyond statement_cache_capacity the least recently used statement is
// closed on the server, with the next new statement.
func TestStatementCacheEvicts(t *testing.T) {
	ctx := context.Background()
	conn := sessionAt(t, map[string]string{"statement_cache_capacity": "2"})
	for i := range 10 {
		if _, err := conn.ExecContext(ctx, `SELECT $1::int /* evict `+string(rune('a'+i))+` */`, i); err != nil {
			t.Fatal(err)
		}
	}
	// The count's own statement is one of the at most 2 + 1 (the one
	// evicted by it is closed with the next).
	if got := prepared(t, conn, "%"); got > 3 {
		t.Errorf("%d statements prepared with a capacity of 2, want at most 3", got)
	}
	// An evicted statement runs again (prepared anew).
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT $1::int /* evict a */`, 7).Scan(&n); err != nil || n != 7 {
		t.Errorf("an evicted statement again: %d, %v", n, err)
	}
}

// A statement the server refuses to prepare is not kept: the connection
// goes on, and the statement fails the same way the next time, whether it
// failed for its text or for the transaction it was sent in.
func TestStatementThatFailsToPrepare(t *testing.T) {
	ctx := context.Background()
	conn := session(t)
	var pe *pgconn.PgError
	for range 2 {
		_, err := conn.ExecContext(ctx, `SELEC $1::int`, 1)
		if !errors.As(err, &pe) || pe.Code != "42601" {
			t.Fatalf("a syntax error: %v, want SQLSTATE 42601", err)
		}
	}
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE p (k int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO p VALUES ($1)`, 1); err != nil && !errors.As(err, &pe) {
			t.Fatal(err)
		}
	}
	// The transaction is aborted: this statement's Parse fails (25P02).
	_, err = tx.ExecContext(ctx, `SELECT k FROM p WHERE k = $1 /* aborted */`, 1)
	if !errors.As(err, &pe) || pe.Code != "25P02" {
		t.Fatalf("a new statement in an aborted transaction: %v, want SQLSTATE 25P02", err)
	}
	_ = tx.Rollback()
	var k int
	if err := conn.QueryRowContext(ctx, `SELECT k FROM p WHERE k = $1 /* aborted */`, 1).Scan(&k); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("the statement after the rollback: %v, want no rows (not a statement the server never prepared)", err)
	}
}

// When a prepared statement's result no longer fits its table (a column
// added under SELECT *), that run fails as with pgx and the next one
// prepares it anew.
func TestStalePreparedStatement(t *testing.T) {
	ctx := context.Background()
	conn := session(t)
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE s (a int); INSERT INTO s VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	q := `SELECT * FROM s WHERE a = $1`
	if _, err := conn.ExecContext(ctx, q, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `ALTER TABLE s ADD COLUMN b int`); err != nil {
		t.Fatal(err)
	}
	_, _ = conn.ExecContext(ctx, q, 1)
	var a int
	var b sql.NullInt64
	if err := conn.QueryRowContext(ctx, q, 1).Scan(&a, &b); err != nil {
		t.Errorf("after the table changed: %v", err)
	}
	// DEALLOCATE ALL (as a pooler's DISCARD ALL does) loses them all.
	if _, err := conn.ExecContext(ctx, `DEALLOCATE ALL`); err != nil {
		t.Fatal(err)
	}
	_, _ = conn.ExecContext(ctx, q, 1)
	if err := conn.QueryRowContext(ctx, q, 1).Scan(&a, &b); err != nil {
		t.Errorf("after DEALLOCATE ALL: %v", err)
	}
}

// statementName is the server's name of the statement the session
// prepared for the SQL text marked like.
func statementName(t *testing.T, conn *sql.Conn, like string) string {
	t.Helper()
	var name string
	if err := conn.QueryRowContext(context.Background(), `SELECT name FROM pg_prepared_statements WHERE statement LIKE $1`, like).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// Behind a pooler that hands one client's server session to another
// (PgBouncer in transaction mode without default_query_exec_mode=exec), a
// name the client kept must never run another statement's SQL: a
// statement's name comes from its text, so the same name is the same SQL
// on every connection, and a session without it fails loudly and is
// prepared anew on the next run.
func TestAStatementNameIsItsText(t *testing.T) {
	ctx := context.Background()
	a := `SELECT 'a:' || $1::text /* pool a */`
	b := `SELECT 'b:' || $1::text /* pool b */`
	x, y := session(t), session(t)
	var got string
	if err := x.QueryRowContext(ctx, b, "x").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if err := y.QueryRowContext(ctx, a, "y").Scan(&got); err != nil {
		t.Fatal(err)
	}
	nameA, nameB := statementName(t, y, "%/* pool a */%"), statementName(t, x, "%/* pool b */%")
	if nameA == nameB {
		t.Fatalf("two statements of different text share the name %q on two connections", nameA)
	}
	// y is handed the session x prepared.
	if _, err := y.ExecContext(ctx, `DEALLOCATE ALL; PREPARE "`+nameB+`"(text) AS `+b); err != nil {
		t.Fatal(err)
	}
	err := y.QueryRowContext(ctx, a, "y").Scan(&got)
	if err == nil && got != "a:y" {
		t.Fatalf("statement a ran as %q in a session another connection prepared: another statement's SQL", got)
	}
	if err := y.QueryRowContext(ctx, a, "y").Scan(&got); err != nil || got != "a:y" {
		t.Errorf("statement a after the session changed hands: %q, %v, want a:y", got, err)
	}
	// The same text has the same name on every connection.
	if err := x.QueryRowContext(ctx, a, "x").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if n := statementName(t, x, "%/* pool a */%"); n != nameA {
		t.Errorf("statement a is %q on one connection and %q on another", nameA, n)
	}
}
