package sqlstore

import (
	"context"
	"errors"
	"fmt"
)

// ErrSchemaBehind is matched (errors.Is) by CheckSchema's error when the
// database lacks migrations this build needs.
var ErrSchemaBehind = errors.New("store: schema not migrated")

// SchemaError says which schema version a store has and which this build
// needs. It matches ErrSchemaBehind.
type SchemaError struct {
	Store           string // backend, host and database; never a password
	Found, Expected int
	Latest          string // the file name of the newest migration
}

func (e *SchemaError) Error() string {
	found := fmt.Sprint(e.Found)
	if e.Found == 0 {
		found = "0 (no migration applied)"
	}
	return fmt.Sprintf("store: %s has schema version %s, this build needs version %d (%s)", e.Store, found, e.Expected, e.Latest)
}

// Is makes a SchemaError match ErrSchemaBehind.
func (e *SchemaError) Is(target error) bool { return target == ErrSchemaBehind }

// ExpectedSchemaVersion is the newest migration this build carries for the
// store's backend, and its file name.
func (s *Store) ExpectedSchemaVersion() (int, string, error) {
	ms, err := s.d.migrations()
	if err != nil {
		return 0, "", fmt.Errorf("store: load %s migrations: %w", s.d.kind, err)
	}
	if len(ms) == 0 {
		return 0, "", nil
	}
	last := ms[len(ms)-1]
	return last.version, last.name, nil
}

// CheckSchema reads the schema version without changing anything (a
// DML-only user can run it) and fails with a *SchemaError when the database
// lacks a migration this build carries. A newer schema is accepted: released
// migrations only add, so the previous build runs on the next one's schema
// while a deploy rolls back.
func (s *Store) CheckSchema(ctx context.Context) error {
	want, name, err := s.ExpectedSchemaVersion()
	if err != nil {
		return err
	}
	found := 0
	exists, err := s.migrationsTableExists(ctx)
	if err != nil {
		return scrub(fmt.Errorf("store: read schema version of %s: %w", s.desc, err), s.secret)
	}
	if exists {
		if found, err = s.SchemaVersion(ctx); err != nil {
			return scrub(err, s.secret)
		}
	}
	if found < want {
		return &SchemaError{Store: s.desc, Found: found, Expected: want, Latest: name}
	}
	return nil
}

// migrationsTableExists reports whether schema_migrations exists where the
// store's statements would find it (PostgreSQL: on the search_path; MySQL:
// in the connection's database).
func (s *Store) migrationsTableExists(ctx context.Context) (bool, error) {
	var q string
	switch s.d.kind {
	case "sqlite":
		q = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	case "postgres":
		q = `SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE 1 END`
	case "mysql":
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'`
	default:
		return false, fmt.Errorf("unknown backend %q", s.d.kind)
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}
