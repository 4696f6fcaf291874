package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
)

// CheckSchema tells an empty database, one a migration behind and one up to
// date apart, and changes nothing itself.
func TestCheckSchemaReadsTheVersionWithoutChangingIt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vpngw.db")
	rawURL := "sqlite://" + path
	s, err := sqlstore.OpenSQL(ctx, rawURL, sqlstore.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want, latest, err := s.ExpectedSchemaVersion()
	if err != nil || want < 2 || !strings.HasSuffix(latest, ".sql") {
		t.Fatalf("ExpectedSchemaVersion = %d, %q, %v", want, latest, err)
	}

	var se *sqlstore.SchemaError
	err = s.CheckSchema(ctx)
	if !errors.As(err, &se) || se.Found != 0 || se.Expected != want || !errors.Is(err, sqlstore.ErrSchemaBehind) {
		t.Fatalf("empty database: %v, want found 0, expected %d", err, want)
	}
	if !strings.Contains(err.Error(), "no migration applied") || !strings.Contains(err.Error(), latest) {
		t.Errorf("message %q", err)
	}
	// The check created nothing: a second look still finds no table.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the check left %d tables (%v)", n, err)
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("after Migrate: %v", err)
	}
	// One migration behind: the last one unrecorded. Versions may skip a
	// number (one reserved for a change still to land), so the one before
	// is read.
	var prev int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations WHERE version < ?`, want).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = ?`, want); err != nil {
		t.Fatal(err)
	}
	err = s.CheckSchema(ctx)
	if !errors.As(err, &se) || se.Found != prev || se.Expected != want {
		t.Fatalf("a migration behind: %v, want found %d, expected %d", err, prev, want)
	}
	// A newer schema (the previous build after a deploy's migrate) passes.
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (?, 'later'), (?, 'next')`, want, want+1); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("a newer schema: %v", err)
	}
}

// A store missing a migration below the newest one (a branch's migration
// merged after deployments had applied a later number) is refused although
// MAX(version) is the newest: Migrate applies by set, so the code would run
// on a schema without that migration's tables or columns. Versions above the
// newest this build carries still pass.
func testCheckSchemaFindsAGap(t *testing.T, rawURL string) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQL(ctx, rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("after Migrate: %v", err)
	}
	versions := sqlstore.Versions(s)
	if len(versions) < 2 {
		t.Fatalf("versions %v: want at least two migrations", versions)
	}
	gap := versions[len(versions)/2]
	if err := sqlstore.Exec(s, `DELETE FROM schema_migrations WHERE version = ?`, gap); err != nil {
		t.Fatal(err)
	}
	err = s.CheckSchema(ctx)
	if !errors.Is(err, sqlstore.ErrSchemaBehind) {
		t.Fatalf("migration %04d unrecorded, newest %d recorded: CheckSchema = %v, want ErrSchemaBehind", gap, versions[len(versions)-1], err)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%04d_", gap)) || !strings.Contains(msg, "missing") {
		t.Errorf("message %q does not name the missing migration %04d", msg, gap)
	}
	// The gap recorded again, a version above the newest is a later
	// build's.
	if err := sqlstore.Exec(s, `INSERT INTO schema_migrations (version, name) VALUES (?, 'again')`, gap); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Exec(s, `INSERT INTO schema_migrations (version, name) VALUES (?, 'later')`, versions[len(versions)-1]+1); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Errorf("gap filled, a later version besides: %v", err)
	}
}

func TestSQLiteCheckSchemaFindsAGap(t *testing.T) { testCheckSchemaFindsAGap(t, sqliteURL(t)) }

func TestPostgresCheckSchemaFindsAGap(t *testing.T) {
	testCheckSchemaFindsAGap(t, testenv.StoreURL(t, "postgres"))
}

func TestMySQLCheckSchemaFindsAGap(t *testing.T) {
	testCheckSchemaFindsAGap(t, testenv.StoreURL(t, "mysql"))
}
