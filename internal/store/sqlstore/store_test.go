package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/store/storetest"
	"github.com/vpngw/vpngw/internal/testenv"
)

func openStore(t *testing.T, rawURL string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlstore.OpenSQL(ctx, rawURL, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sqliteURL(t *testing.T) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "store.db")
}

func TestSQLiteContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, sqliteURL(t)) })
}

func TestSQLiteMemoryContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, "sqlite::memory:") })
}

func TestPostgresContract(t *testing.T) {
	testenv.URL(t, testenv.PostgresEnv)
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, testenv.StoreURL(t, "postgres")) })
}

func TestMySQLContract(t *testing.T) {
	testenv.URL(t, testenv.MySQLEnv)
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, testenv.StoreURL(t, "mysql")) })
}

func TestSQLiteSharedContract(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T, n int) []store.Store { return openShared(t, sqliteURL(t), n) })
}

func TestPostgresSharedContract(t *testing.T) {
	testenv.URL(t, testenv.PostgresEnv)
	storetest.RunShared(t, func(t *testing.T, n int) []store.Store { return openShared(t, testenv.StoreURL(t, "postgres"), n) })
}

func TestMySQLSharedContract(t *testing.T) {
	testenv.URL(t, testenv.MySQLEnv)
	storetest.RunShared(t, func(t *testing.T, n int) []store.Store { return openShared(t, testenv.StoreURL(t, "mysql"), n) })
}

// openShared opens n stores on one database, as n instances would.
func openShared(t *testing.T, rawURL string, n int) []store.Store {
	stores := make([]store.Store, n)
	for i := range stores {
		stores[i] = openStore(t, rawURL)
	}
	return stores
}

// testConcurrentMigrate starts several instances on one empty database at
// the same moment: all must open, and the schema must be migrated once.
func testConcurrentMigrate(t *testing.T, rawURL string) {
	const instances = 4
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		stores = make([]*sqlstore.Store, instances)
	)
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s, err := sqlstore.OpenSQL(context.Background(), rawURL)
			if err != nil {
				t.Errorf("instance %d: Open: %v", i, err)
				return
			}
			stores[i] = s
		}()
	}
	close(start)
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		return
	}
	ctx := context.Background()
	v, err := stores[0].SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v; want at least 1", v, err)
	}
	// Every instance works on the one schema.
	for i, s := range stores {
		r := store.Request{Key: fmt.Sprintf("k-%d", i), Source: "s", EventID: "e", ClientToken: "c", RegionID: "r"}
		if _, created, err := s.Insert(ctx, r, nil); err != nil || !created {
			t.Errorf("instance %d: Insert = %v, %v", i, created, err)
		}
	}
	if n, err := stores[0].Count(ctx); err != nil || n != instances {
		t.Errorf("Count = %d, %v; want %d", n, err, instances)
	}
	// Migrating again is a no-op.
	if err := sqlstore.Migrate(ctx, rawURL); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	if v2, err := stores[1].SchemaVersion(ctx); err != nil || v2 != v {
		t.Errorf("SchemaVersion after re-migrating = %d, %v; want %d", v2, err, v)
	}
}

func TestSQLiteConcurrentMigrate(t *testing.T) {
	testConcurrentMigrate(t, sqliteURL(t))
}

func TestPostgresConcurrentMigrate(t *testing.T) {
	testConcurrentMigrate(t, testenv.StoreURL(t, "postgres"))
}

func TestMySQLConcurrentMigrate(t *testing.T) {
	testConcurrentMigrate(t, testenv.StoreURL(t, "mysql"))
}

// An instance that stopped after some of a migration's DDL and before
// recording the migration (MySQL commits DDL at once, so no transaction undoes
// it) leaves the next start to find tables, columns and indexes that exist:
// it must open all the same, and record the migrations.
func TestMySQLMigrateAfterUnrecordedDDL(t *testing.T) {
	rawURL := testenv.StoreURL(t, "mysql")
	ctx := context.Background()
	s := openStore(t, rawURL)
	latest, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := sqlstore.MySQLConfig(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	// Forget every migration from 0002 on: their tables, column and index
	// stay, as after a crash between each DDL and its record.
	if _, err := db.ExecContext(ctx, "DELETE FROM "+cfg.DBName+".schema_migrations WHERE version >= 2"); err != nil {
		t.Fatal(err)
	}
	again := openStore(t, rawURL)
	if v, err := again.SchemaVersion(ctx); err != nil || v != latest {
		t.Fatalf("schema version after reopening: %d, %v; want %d", v, err, latest)
	}
	smokeInsert(t, again)
}

// smokeInsert records and reads back one request: the schema works.
func smokeInsert(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	r := store.Request{Key: "smoke", Source: "/s", EventID: "e", ClientToken: "t", Params: []byte(`{}`), CreatedAt: now, UpdatedAt: now,
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	if _, created, err := s.Insert(ctx, r, nil); err != nil || !created {
		t.Fatalf("insert: created %t, %v", created, err)
	}
	if got, err := s.Get(ctx, "smoke"); err != nil || got.TraceParent != r.TraceParent {
		t.Fatalf("get: %+v, %v", got, err)
	}
}

// TestSQLiteFileSharedByStores has two stores on one file, as two processes
// would be, insert and then claim at the same time: SQLite's file lock,
// IMMEDIATE transactions and busy_timeout must keep both working, and no
// request may be claimed by both.
func TestSQLiteFileSharedByStores(t *testing.T) {
	u := sqliteURL(t)
	stores := []*sqlstore.Store{openStore(t, u), openStore(t, u)}
	ctx := context.Background()
	const perStore = 150
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perStore {
				r := store.Request{Key: fmt.Sprintf("k-%d-%03d", i, j), Source: "s", EventID: "e", ClientToken: "c", RegionID: "r"}
				if _, _, err := s.Insert(ctx, r, []store.Event{{Event: outgoing.Event{ID: r.Key, Type: "t"}}}); err != nil {
					t.Errorf("store %d: Insert: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, err := stores[0].Count(ctx, store.Received); err != nil || n != 2*perStore {
		t.Fatalf("Count = %d, %v; want %d", n, err, 2*perStore)
	}

	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		now     = time.Now()
	)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.Claim(ctx, []store.State{store.Received}, fmt.Sprintf("store-%d", i), now, time.Hour, 7)
				if err != nil {
					t.Errorf("store %d: Claim: %v", i, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, r := range got {
					claimed[r.Key]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 2*perStore {
		t.Errorf("%d requests claimed, want %d", len(claimed), 2*perStore)
	}
	for k, n := range claimed {
		if n != 1 {
			t.Errorf("%s claimed %d times", k, n)
		}
	}
}

// testOperatorViews checks Count, List and SchemaVersion, which are not in
// the Store contract.
func testOperatorViews(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	for i, st := range []store.State{store.Received, store.Pending, store.Pending, store.Active, store.Failed} {
		r := store.Request{Key: fmt.Sprintf("k-%d", i), Source: "s", EventID: "e", ClientToken: "c", RegionID: "r", State: st}
		if _, _, err := s.Insert(ctx, r, nil); err != nil {
			t.Fatalf("Insert: %v", err)
		}
	}
	if n, err := s.Count(ctx); err != nil || n != 5 {
		t.Errorf("Count() = %d, %v; want 5", n, err)
	}
	if n, err := s.Count(ctx, store.Pending, store.Received); err != nil || n != 3 {
		t.Errorf("Count(pending, received) = %d, %v; want 3", n, err)
	}
	page, err := s.List(ctx, sqlstore.ListFilter{Limit: 2})
	if err != nil || len(page) != 2 || page[0].Key != "k-0" || page[1].Key != "k-1" {
		t.Fatalf("List page 1 = %v, %v", page, err)
	}
	page, err = s.List(ctx, sqlstore.ListFilter{AfterKey: page[1].Key, States: []store.State{store.Pending, store.Failed}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range page {
		keys = append(keys, r.Key)
	}
	if strings.Join(keys, ",") != "k-2,k-4" {
		t.Errorf("List after k-1 in pending/failed = %v, want [k-2 k-4]", keys)
	}
	if want := sqlstore.LatestVersion(s.Kind()); want < 1 {
		t.Errorf("no migrations for %s", s.Kind())
	} else if v, err := s.SchemaVersion(ctx); err != nil || v != want {
		t.Errorf("SchemaVersion = %d, %v; want %d, the newest migration", v, err, want)
	}
}

func TestSQLiteOperatorViews(t *testing.T) { testOperatorViews(t, openStore(t, sqliteURL(t))) }

func TestPostgresOperatorViews(t *testing.T) {
	testOperatorViews(t, openStore(t, testenv.StoreURL(t, "postgres")))
}

func TestMySQLOperatorViews(t *testing.T) {
	testOperatorViews(t, openStore(t, testenv.StoreURL(t, "mysql")))
}

// TestOpenErrorsHidePassword opens URLs carrying a recognisable password,
// well-formed ones against a closed port and malformed ones: every error must
// name the backend and never the password.
func TestOpenErrorsHidePassword(t *testing.T) {
	const pw = "Sekr3t-Pa55w0rd"
	tests := []struct {
		name, url string
		want      []string // substrings the error must hold
	}{
		{"postgres closed port", "postgres://vpngw:" + pw + "@127.0.0.1:1/gwdb?sslmode=disable&connect_timeout=2", []string{"postgres", "127.0.0.1:1", "gwdb"}},
		{"postgresql scheme", "postgresql://vpngw:" + pw + "@127.0.0.1:1/gwdb?sslmode=disable", []string{"postgres", "127.0.0.1:1"}},
		{"postgres bad port", "postgres://vpngw:" + pw + "@127.0.0.1:notaport/gwdb", []string{"postgres"}},
		{"postgres bad param", "postgres://vpngw:" + pw + "@127.0.0.1:1/gwdb?sslmode=maybe", []string{"postgres"}},
		{"postgres escaped password", "postgres://vpngw:" + url.QueryEscape(pw+"/@:") + "@127.0.0.1:1/gwdb?sslmode=disable", []string{"postgres"}},
		{"mysql url form closed port", "mysql://vpngw:" + pw + "@127.0.0.1:1/gwdb", []string{"mysql", "127.0.0.1:1", "gwdb"}},
		{"mysql dsn form closed port", "mysql://vpngw:" + pw + "@tcp(127.0.0.1:1)/gwdb", []string{"mysql", "127.0.0.1:1", "gwdb"}},
		{"mysql dsn unterminated", "mysql://vpngw:" + pw + "@tcp(127.0.0.1:1/gwdb", []string{"mysql"}},
		{"mysql bad port", "mysql://vpngw:" + pw + "@127.0.0.1:port/gwdb", []string{"mysql"}},
		{"mysql bad param", "mysql://vpngw:" + pw + "@127.0.0.1:1/gwdb?parseTime=perhaps", []string{"mysql"}},
		{"mysql no database", "mysql://vpngw:" + pw + "@127.0.0.1:1/", []string{"mysql", "no database"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := sqlstore.Open(ctx, tc.url, sqlstore.WithConnectTimeout(2*time.Second))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			for _, leak := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw)} {
				if strings.Contains(msg, leak) {
					t.Fatalf("error reveals the password: %s", msg)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct{ name, url, want string }{
		{"no scheme", "/tmp/x.db", "no scheme"},
		{"unknown scheme", "redis://localhost:6379", `unsupported scheme "redis"`},
		{"sqlite without path", "sqlite://", "no file path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlstore.Open(context.Background(), tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) error = %v, want it to mention %q", tc.url, err, tc.want)
			}
		})
	}
	if _, err := sqlstore.Open(context.Background(), "sqlite::memory:", sqlstore.WithMaxOpenConns(0)); err == nil {
		t.Error("Open with WithMaxOpenConns(0) succeeded")
	}
}

// TestWithoutMigrateIsLazy shows that Open makes no connection when told not
// to migrate: it succeeds against a closed port, and the first statement
// reports the unreachable server.
func TestWithoutMigrateIsLazy(t *testing.T) {
	for _, u := range []string{
		"postgres://vpngw@127.0.0.1:1/gwdb?sslmode=disable",
		"mysql://vpngw@127.0.0.1:1/gwdb",
	} {
		s, err := sqlstore.Open(context.Background(), u, sqlstore.WithoutMigrate(), sqlstore.WithConnectTimeout(2*time.Second))
		if err != nil {
			t.Fatalf("Open(%s, WithoutMigrate): %v", u, err)
		}
		_, err = s.Get(context.Background(), "k")
		s.Close()
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("Get on %s: error = %v, want a connection error naming the server", u, err)
		}
	}
}

func TestKind(t *testing.T) {
	s := openStore(t, "sqlite::memory:")
	if s.Kind() != "sqlite" || !strings.Contains(s.String(), ":memory:") {
		t.Errorf("Kind, String = %q, %q", s.Kind(), s.String())
	}
}
