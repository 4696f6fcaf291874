package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// TestSQLiteLaxTxRestoresFullOnFailure: a sent-mark transaction that fails,
// or whose context ends while it runs, still leaves the writer's connection
// FULL, so that the next state change commits with the wait.
func TestSQLiteLaxTxRestoresFullOnFailure(t *testing.T) {
	s := openSQLiteFile(t, "")
	boom := errors.New("boom")
	if err := s.inLaxTx(context.Background(), func(*sql.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("inLaxTx = %v, want boom", err)
	}
	if got := synchronous(t, s); got != 2 {
		t.Errorf("writer synchronous = %d after a failed sent mark, want 2 (FULL)", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err := s.inLaxTx(ctx, func(*sql.Tx) error { cancel(); return ctx.Err() })
	if err == nil {
		t.Fatal("inLaxTx with its context ended: no error")
	}
	if got := synchronous(t, s); got != 2 {
		t.Errorf("writer synchronous = %d after a cancelled sent mark, want 2 (FULL)", got)
	}
}
