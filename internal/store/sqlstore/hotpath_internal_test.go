package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/testenv"
)

func openSQLiteFile(t *testing.T, query string) *Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "vpngw.db")+query)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSQLiteClaimPlanUsesIndex: a claim of one state reads the claim index
// in its order and stops at its limit; it never sorts the state's requests
// (which it did before migration 0013, once per claim).
func TestSQLiteClaimPlanUsesIndex(t *testing.T) {
	s := openSQLiteFile(t, "")
	ctx := context.Background()
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50 {
		st := store.Pending
		if i%3 == 0 {
			st = store.Active
		}
		r := store.Request{Key: "k" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Source: "src", EventID: "e", ClientToken: "t", RegionID: "cn-hangzhou",
			State: st, CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if _, _, err := s.Insert(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	all := strings.Join(sqlitePlan(t, s.rdb, s.claimQuery(claimWhere(1)), string(store.Pending), s.d.timeArg(base), 500), "; ")
	if !strings.Contains(all, "INDEX requests_claim_idx (state=?)") || strings.Contains(all, "TEMP B-TREE") {
		t.Errorf("claim plan = %q, want a search of requests_claim_idx (state=?) and no temporary B-tree for ORDER BY", all)
	}
}

// recordAndMarkSent records a request with one event and marks the event
// sent.
func recordAndMarkSent(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	r := store.Request{Key: "k1", Source: "src", EventID: "e1", ClientToken: "t", RegionID: "cn-hangzhou"}
	ev := []store.Event{{Event: outgoing.Event{ID: "ev1", Type: "io.vpngw.test"}}}
	if _, _, err := s.Insert(ctx, r, ev); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Unsent(ctx, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Unsent = %v, %v", evs, err)
	}
	if err := s.MarkSent(ctx, []int64{evs[0].Seq}); err != nil {
		t.Fatal(err)
	}
}

// synchronous is the writer connection's synchronous pragma: 1 NORMAL, 2 FULL.
func synchronous(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.wdb.QueryRow(`PRAGMA synchronous`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSQLiteCommitsWaitForDisk: every commit of the writer waits for the
// disk (FULL) unless the URL says otherwise; MarkSentFor, which commits
// without the wait, leaves the connection FULL again.
func TestSQLiteCommitsWaitForDisk(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteFile(t, "")
	if !s.laxSQLite {
		t.Fatal("a file store whose URL leaves synchronous alone should mark sent without waiting for the disk")
	}
	if got := synchronous(t, s); got != 2 {
		t.Fatalf("writer synchronous = %d at open, want 2 (FULL)", got)
	}
	recordAndMarkSent(t, s)
	if got := synchronous(t, s); got != 2 {
		t.Errorf("writer synchronous = %d after MarkSent, want 2 (FULL): the next state change would commit without fsync", got)
	}
	if left, err := s.Unsent(ctx, 10); err != nil || len(left) != 0 {
		t.Errorf("Unsent after MarkSent = %v, %v, want none", left, err)
	}

	chosen := openSQLiteFile(t, "?_synchronous=NORMAL")
	if chosen.laxSQLite {
		t.Error("a URL that sets _synchronous is the operator's choice, left as it is")
	}
	if got := synchronous(t, chosen); got != 1 {
		t.Errorf("writer synchronous = %d with _synchronous=NORMAL, want 1", got)
	}
}

// TestSQLiteStatementsStayPrepared: the writes of a request's life run on
// statements prepared once, not parsed again on each call.
func TestSQLiteStatementsStayPrepared(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteFile(t, "")
	life := func(key string) {
		t.Helper()
		r := store.Request{Key: key, Source: "src", EventID: key, ClientToken: "t", RegionID: "cn-hangzhou"}
		if _, _, err := s.Insert(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		ev := []store.Event{{Event: outgoing.Event{ID: "ev-" + key, Type: "io.vpngw.test"}}}
		if _, err := s.Transition(ctx, key, []store.State{store.Received}, store.Pending, "", store.Change{GatewayID: "vpn-1"}, ev); err != nil {
			t.Fatal(err)
		}
	}
	life("k1")
	prepared := func() (n int) {
		s.wcache.mu.Lock()
		defer s.wcache.mu.Unlock()
		for _, st := range s.wcache.stmts {
			if st != nil {
				n++
			}
		}
		return n
	}
	// insert, history, update, outbox: at least these four.
	if n := prepared(); n < 4 {
		t.Fatalf("%d statements prepared after one request's writes, want at least 4", n)
	}
	before := prepared()
	life("k2")
	if n := prepared(); n != before {
		t.Errorf("a second request prepared %d more statements, want none", n-before)
	}
	if s.wcache.wanted != 0 {
		t.Errorf("%d statements still wanted after the transactions ended, want 0", s.wcache.wanted)
	}
}

// TestPostgresMarkSentIsLocal: the sent mark's commit without the wait is
// its statement's alone; the connection's next transaction, a state change,
// waits for the disk as the server is set to.
func TestPostgresMarkSentIsLocal(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testenv.StoreURL(t, "postgres"), WithMaxOpenConns(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	show := func() string {
		t.Helper()
		var v string
		if err := s.wdb.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := show()
	recordAndMarkSent(t, s)
	if after := show(); after != before || after == "off" {
		t.Errorf("synchronous_commit = %q after MarkSent (%q before), want the server's setting back", after, before)
	}
	if left, err := s.Unsent(ctx, 10); err != nil || len(left) != 0 {
		t.Errorf("Unsent after MarkSent = %v, %v, want none", left, err)
	}
}

// sqlitePlan is the detail of each step of SQLite's plan for query, in order.
func sqlitePlan(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("plan of %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
