// Package testenv is what tests share about their surroundings: the URL of
// an outside server read from the environment (skipped locally, a failure
// under CI=true), a fresh PostgreSQL schema or MySQL database per test, and
// a log buffer that is written while the test reads it, endpoints that
// fail each way a transport can, and the percentile that benchmarks and
// the cold-start tool report.
//
// Tests import it, directly or through internal/apptest; no function binary
// may link it (functions/startup_test.go lists it among the test-only
// packages).
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop schemas
)

// Variables naming the outside servers the tests use.
const (
	PostgresEnv = "VPNGW_TEST_POSTGRES_URL"
	MySQLEnv    = "VPNGW_TEST_MYSQL_URL"
	NATSEnv     = "VPNGW_TEST_NATS_URL"
	AMQPEnv     = "VPNGW_TEST_AMQP_URL"
	MQTTEnv     = "VPNGW_TEST_MQTT_URL"
)

// URL returns the server URL in the environment variable name. When it is
// unset the test is skipped, except under CI=true, where it fails: CI
// promises every server it names.
func URL(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		if Required() {
			tb.Fatalf("%s is not set; CI must run this test against a real server", name)
		}
		tb.Skipf("%s is not set; set it to run this test against a real server", name)
	}
	return v
}

// Required reports whether outside servers must be there (CI=true).
func Required() bool { return os.Getenv("CI") == "true" }

// UniqueName is a schema or database name no other test run uses.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// PostgresSchema creates an empty schema on the PostgreSQL server at raw and
// returns a URL whose search_path selects it, and a function that drops it.
// The drop waits up to 30 s for a server that is restarting.
func PostgresSchema(raw, prefix string) (string, func() error, error) {
	db, err := sql.Open("pgx", raw)
	if err != nil {
		return "", nil, err
	}
	schema := UniqueName(prefix)
	if err := create(db, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, err
	}
	drop := func() error {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			_, err := db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
			if err == nil || ctx.Err() != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		_ = drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// create runs ddl on db within 10 s, closing db when it fails.
func create(db *sql.DB, ddl string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		db.Close()
		return err
	}
	return nil
}

// MySQLDatabase creates an empty database on the MySQL or MariaDB server at
// raw (mysql://user[:password]@host:port/db, or the driver's DSN after
// mysql://) and returns a store URL for it, and a function that drops it.
func MySQLDatabase(raw, prefix string) (string, func() error, error) {
	var cfg *mysql.Config
	if strings.Contains(raw, "(") {
		var err error
		if cfg, err = mysql.ParseDSN(strings.TrimPrefix(raw, "mysql://")); err != nil {
			return "", nil, err
		}
	} else {
		u, err := url.Parse(raw)
		if err != nil {
			return "", nil, err
		}
		cfg = mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net, cfg.Addr = "tcp", u.Host
	}
	cfg.DBName = ""
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return "", nil, err
	}
	db := sql.OpenDB(conn)
	name := UniqueName(prefix)
	if err := create(db, `CREATE DATABASE `+name); err != nil {
		return "", nil, err
	}
	drop := func() error {
		defer db.Close()
		_, err := db.Exec(`DROP DATABASE ` + name)
		return err
	}
	u := &url.URL{Scheme: "mysql", User: url.User(cfg.User), Host: cfg.Addr, Path: "/" + name}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	}
	return u.String(), drop, nil
}

// StoreURL returns a store URL of the test's own for kind: "sqlite" (a file
// in a temporary directory), "postgres" (a fresh schema) or "mysql" (a fresh
// database), dropped at cleanup. The server URLs come from PostgresEnv and
// MySQLEnv, through URL: missing, the test is skipped, or fails under CI.
func StoreURL(tb testing.TB, kind string) string {
	tb.Helper()
	var (
		u    string
		drop func() error
		err  error
		env  string
	)
	switch kind {
	case "sqlite":
		return "sqlite://" + tb.TempDir() + "/vpngw.db"
	case "postgres":
		env = PostgresEnv
		u, drop, err = PostgresSchema(URL(tb, env), "vpngw_test")
	case "mysql":
		env = MySQLEnv
		u, drop, err = MySQLDatabase(URL(tb, env), "vpngw_test")
	default:
		tb.Fatalf("unknown store kind %q: want sqlite, postgres or mysql", kind)
	}
	if err != nil {
		tb.Fatalf("%s: a store of the test's own: %v", env, err)
	}
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Errorf("%s: drop the test's store: %v", env, err)
		}
	})
	return u
}

// SyncBuffer is a log or terminal written while the test reads it. With
// Max set it keeps only the last Max bytes: a process's output, shown when
// something failed.
type SyncBuffer struct {
	Max int

	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if over := s.b.Len() - s.Max; s.Max > 0 && over > 0 {
		s.b.Next(over)
	}
	return len(p), nil
}

// String returns everything written so far (the last Max bytes of it).
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Closers runs cleanup functions once, last registered first: what a
// stack or a benchmark fixture that outlives one test started.
type Closers struct {
	mu sync.Mutex
	fs []func()
}

// Add registers f.
func (c *Closers) Add(f func()) {
	c.mu.Lock()
	c.fs = append(c.fs, f)
	c.mu.Unlock()
}

// Run runs what was registered, last first; calling it again does nothing
// until more is registered.
func (c *Closers) Run() {
	c.mu.Lock()
	fs := c.fs
	c.fs = nil
	c.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// StoreURLs are the stores a test runs against, by kind: SQLite always, and
// PostgreSQL and MySQL when PostgresEnv and MySQLEnv name test servers
// (under CI=true they must). Each gets a schema or database of the test's
// own, dropped at cleanup.
func StoreURLs(tb testing.TB) map[string]string {
	tb.Helper()
	urls := map[string]string{"sqlite": StoreURL(tb, "sqlite")}
	for kind, env := range map[string]string{"postgres": PostgresEnv, "mysql": MySQLEnv} {
		if os.Getenv(env) != "" || Required() {
			urls[kind] = StoreURL(tb, kind)
		}
	}
	return urls
}
