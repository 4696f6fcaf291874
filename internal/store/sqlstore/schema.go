package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vpngw/vpngw/internal/redact"
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
	// Missing names the migration files this build carries that the store
	// has not applied, below the newest it has: a gap MAX(version) hides.
	Missing []string
}

func (e *SchemaError) Error() string {
	if len(e.Missing) > 0 && e.Found >= e.Expected {
		return fmt.Sprintf("store: %s has schema version %d but is missing migration %s, which this build needs", e.Store, e.Found, strings.Join(e.Missing, ", "))
	}
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
	ms, err := s.d.migrationNames()
	if err != nil {
		return 0, "", fmt.Errorf("store: load %s migrations: %w", s.d.kind, err)
	}
	v, name := newest(ms)
	return v, name, nil
}

// newest is the version and name of the last of ms (0, "" for none).
func newest(ms []migration) (int, string) {
	if len(ms) == 0 {
		return 0, ""
	}
	last := ms[len(ms)-1]
	return last.version, last.name
}

// CheckSchema reads the applied migrations without changing anything (a
// DML-only user can run it) and fails with a *SchemaError when the database
// lacks any migration this build carries, a gap below the newest applied
// version included (Migrate applies by set, so a migration merged with a
// lower number than one already deployed is missing while MAX(version) looks
// current). Versions above this build's newest are accepted: released
// migrations only add, so the previous build runs on the next one's schema
// while a deploy rolls back.
func (s *Store) CheckSchema(ctx context.Context) error {
	// The names and versions alone, once: the check reads no migration's
	// SQL.
	ms, err := s.d.migrationNames()
	if err != nil {
		return fmt.Errorf("store: load %s migrations: %w", s.d.kind, err)
	}
	want, name := newest(ms)
	found := 0
	// The versions are read first: on a migrated store, which is where
	// functions start, that is the whole check, one statement. Only when
	// the read fails is the table looked for, to tell a store never
	// migrated from a failure to read.
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		exists, xerr := s.migrationsTableExists(ctx)
		switch {
		case xerr != nil:
			return redact.Error(fmt.Errorf("store: read schema version of %s: %w", s.desc, xerr), s.secret)
		case exists:
			return redact.Error(err, s.secret)
		}
		applied = map[int]bool{}
	}
	for v := range applied {
		found = max(found, v)
	}
	var missing []string
	for _, m := range ms {
		if !applied[m.version] {
			missing = append(missing, m.name)
		}
	}
	if found < want || len(missing) > 0 {
		return &SchemaError{Store: s.desc, Found: found, Expected: want, Latest: name, Missing: missing}
	}
	return nil
}

// appliedVersions reads the versions schema_migrations records.
func (s *Store) appliedVersions(ctx context.Context) (map[int]bool, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: read schema versions of %s: %w", s.desc, err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: read schema versions of %s: %w", s.desc, err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read schema versions of %s: %w", s.desc, err)
	}
	return applied, nil
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
