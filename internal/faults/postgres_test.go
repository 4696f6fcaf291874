package faults

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for schema setup
)

const dbRestartEnv = "VPNGW_TEST_DB_RESTART"

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
