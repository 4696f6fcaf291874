package faults

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for schema setup
)

const (
	postgresEnv  = "VPNGW_TEST_POSTGRES_URL"
	dbRestartEnv = "VPNGW_TEST_DB_RESTART"
)

// postgresURL returns a store URL on the test server whose search_path is a
// schema of the test's own, dropped at cleanup, or "" when
// VPNGW_TEST_POSTGRES_URL is unset. A server that is set but cannot be
// reached fails the test.
func postgresURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(postgresEnv)
	if raw == "" {
		return ""
	}
	db := postgresAdmin(t, raw)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "faults_" + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("%s: create schema: %v", postgresEnv, err)
	}
	t.Cleanup(func() {
		// The server may have been restarted by the scenario: wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			if _, err := db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		db.Close()
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func postgresAdmin(t testing.TB, raw string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Fatalf("PostgreSQL at %s is unreachable: %v", postgresEnv, err)
	}
	return db
}

// postgresCluster names the local cluster to restart ("15 main"): the
// version directory under /etc/postgresql.
func postgresCluster() (string, error) {
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(entries) == 0 {
		return "", fmt.Errorf("no PostgreSQL cluster under /etc/postgresql (%v): %s needs the server on this machine", err, dbRestartEnv)
	}
	return entries[0].Name(), nil
}

// pgctl runs pg_ctlcluster on the local cluster.
func pgctl(ctx context.Context, action string) error {
	version, err := postgresCluster()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster %s main %s: %v: %s", version, action, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ensurePostgresRunning starts the cluster if a restart left it down, and
// waits until it answers, so that tests after this one find it up.
func ensurePostgresRunning(t testing.TB, raw string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if pgctl(ctx, "status") != nil {
		if err := pgctl(ctx, "start"); err != nil {
			t.Errorf("PostgreSQL is down after the restart scenario and does not start: %v", err)
			return
		}
	}
	db, err := sql.Open("pgx", raw)
	if err != nil {
		t.Error(err)
		return
	}
	defer db.Close()
	for {
		if err := db.PingContext(ctx); err == nil {
			return
		} else if ctx.Err() != nil {
			t.Errorf("PostgreSQL does not answer after the restart scenario: %v", err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
