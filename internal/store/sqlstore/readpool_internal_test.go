package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/vpngw/vpngw/internal/store"
)

// TestSQLiteKeepsEveryReader: readers that were in use together stay open
// once they are done, as many as the read pool may open. An SQLite
// connection closed for being one idle too many is opened again by the
// next read that needs it, which reads and parses the schema and prepares
// the store's statements again: with two of four kept, requests in flight
// together reopened readers all the time.
func TestSQLiteKeepsEveryReader(t *testing.T) {
	s := openSQLiteFile(t, "")
	ctx := context.Background()
	n := DefaultMaxOpenConns
	// Each open result holds a connection of its own.
	rows := make([]*sql.Rows, 0, n)
	for range n {
		r, err := s.rdb.QueryContext(ctx, `SELECT 1 UNION ALL SELECT 2`)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Next() {
			t.Fatal(r.Err())
		}
		rows = append(rows, r)
	}
	if got := s.rdb.Stats().InUse; got != n {
		t.Fatalf("%d readers in use, want %d", got, n)
	}
	for _, r := range rows {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	st := s.rdb.Stats()
	if st.Idle != n || st.MaxIdleClosed != 0 {
		t.Errorf("after %d reads at once: %d readers kept, %d closed for being idle beyond the pool's limit; want %d kept, none closed",
			n, st.Idle, st.MaxIdleClosed, n)
	}
}

// BenchmarkSQLiteReadBurst: DefaultMaxOpenConns reads at once, then none,
// as a provision's drain reads the outbox for every sink at once while
// other requests read too. Each read holds its connection until all have
// started, so every burst needs as many readers as the pool may open.
func BenchmarkSQLiteReadBurst(b *testing.B) {
	s, err := Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "vpngw.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	r := store.Request{Key: "k1", Source: "src", EventID: "e1", ClientToken: "t", RegionID: "cn-hangzhou"}
	if _, _, err := s.Insert(ctx, r, nil); err != nil {
		b.Fatal(err)
	}
	q := s.d.rebind(`SELECT request_key, state, created_at FROM requests WHERE request_key = ?`)
	n := DefaultMaxOpenConns
	rows := make([]*sql.Rows, n)
	for b.Loop() {
		for i := range rows {
			if rows[i], err = s.reader().QueryContext(ctx, q, "k1"); err != nil {
				b.Fatal(err)
			}
			if !rows[i].Next() {
				b.Fatal(rows[i].Err())
			}
		}
		for _, r := range rows {
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
