package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// migrationFiles holds one folder per dialect, each with NNNN_name.sql files
// applied in version order. A released file is never edited; a change is a
// new file.
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one versioned schema change.
type migration struct {
	version    int
	name       string
	statements []string
}

// migrations loads the dialect's migrations in version order.
func (d *dialect) migrations() ([]migration, error) { return d.listMigrations(true) }

// migrationNames is migrations without their statements: the versions
// and names the schema check compares, without reading and splitting every
// file's SQL at each start.
func (d *dialect) migrationNames() ([]migration, error) { return d.listMigrations(false) }

func (d *dialect) listMigrations(statements bool) ([]migration, error) {
	dir := path.Join("migrations", d.kind)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version < 1 {
			return nil, fmt.Errorf("migration %s/%s: name must start with a version number and _", dir, name)
		}
		m := migration{version: version, name: name}
		if statements {
			body, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
			if err != nil {
				return nil, err
			}
			m.statements = splitStatements(string(body))
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].name, out[i].name, out[i].version)
		}
	}
	return out, nil
}

// splitStatements cuts a migration file into statements: whole-line "--"
// comments are dropped and a statement ends with a line ending in ";". Drivers
// differ in whether one Exec may carry several statements (MySQL's only with
// multiStatements, which is kept off), so each is run on its own.
func splitStatements(body string) []string {
	var (
		out []string
		cur strings.Builder
	)
	for line := range strings.Lines(body) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, stmt)
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER NOT NULL PRIMARY KEY,
	name VARCHAR(255) NOT NULL
)`

// Migrate applies the migrations the database has not seen yet. It is
// idempotent, and safe when several instances start at once: they serialize
// on a lock (PostgreSQL advisory lock, MySQL GET_LOCK, SQLite's write lock),
// and each finds the versions applied by the one before it in
// schema_migrations. Open calls it unless told WithoutMigrate.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.d.migrations()
	if err != nil {
		return fmt.Errorf("store: load %s migrations: %w", s.d.kind, err)
	}
	switch s.d.kind {
	case "mysql":
		err = s.migrateMySQL(ctx, ms)
	default:
		err = s.migrateInTx(ctx, ms)
	}
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.desc, err)
	}
	return nil
}

// migrateInTx applies migrations in one transaction, where DDL is
// transactional (PostgreSQL, SQLite): a failed migration leaves nothing
// behind. On PostgreSQL a transaction-scoped advisory lock, keyed by the
// schema so that separate schemas do not wait on each other, makes concurrent
// migrators take turns; on SQLite the IMMEDIATE transaction holds the
// database's write lock, which does the same.
func (s *Store) migrateInTx(ctx context.Context, ms []migration) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.kind == "postgres" {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('vpngw.store.migrate.' || current_schema()))`); err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
		}
		return s.applyMigrations(ctx, tx, ms)
	})
}

// migrateMySQL applies migrations under a named lock on one connection.
// MySQL commits DDL implicitly, so the lock (not a transaction) is what keeps
// two instances apart, and each migration is recorded right after it runs.
func (s *Store) migrateMySQL(ctx context.Context, ms []migration) error {
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// GET_LOCK names are server-wide, so the name carries the database.
	const lockName = `LEFT(CONCAT('vpngw.store.migrate.', DATABASE()), 64)`
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(`+lockName+`, 60)`).Scan(&got); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("take migration lock: another instance held it for 60s")
	}
	defer func() {
		// A context that ended must not keep the lock until the connection
		// dies, so release with a fresh one.
		var released sql.NullInt64
		conn.QueryRowContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK(`+lockName+`)`).Scan(&released)
	}()
	return s.applyMigrations(ctx, conn, ms)
}

// applyMigrations runs the migrations schema_migrations does not list.
func (s *Store) applyMigrations(ctx context.Context, q queryer, ms []migration) error {
	if _, err := q.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for i, stmt := range m.statements {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				if s.d.kind == "mysql" && ddlAlreadyDone(err) {
					// MySQL commits each DDL statement at once: an instance
					// that stopped after it and before recording its
					// migration left it done. Doing it again is not needed.
					continue
				}
				return fmt.Errorf("migration %s, statement %d: %w", m.name, i+1, err)
			}
		}
		if _, err := q.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`), m.version, m.name); err != nil {
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
	}
	return nil
}

// ddlAlreadyDone reports MySQL's answers to DDL whose effect is already
// there: the table (1050), column (1060) or index (1061) exists, or the
// index or column to drop (1091) does not.
func ddlAlreadyDone(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1050 || me.Number == 1060 || me.Number == 1061 || me.Number == 1091)
}

// SchemaVersion returns the highest migration version applied, 0 for none.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version of %s: %w", s.desc, err)
	}
	return int(v.Int64), nil
}
