package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/store/sqlstore"
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
	// One migration behind: the last one unrecorded.
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = ?`, want); err != nil {
		t.Fatal(err)
	}
	err = s.CheckSchema(ctx)
	if !errors.As(err, &se) || se.Found != want-1 || se.Expected != want {
		t.Fatalf("a migration behind: %v, want found %d, expected %d", err, want-1, want)
	}
	// A newer schema (the previous build after a deploy's migrate) passes.
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (?, 'later'), (?, 'next')`, want, want+1); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("a newer schema: %v", err)
	}
}
