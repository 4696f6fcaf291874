package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/testenv"
)

// provisionLife writes what a provision request writes: the request with
// its first event, the move to pending (accepted) with an event, the move
// to active with its gateway and an event, and the events marked sent.
func provisionLife(t *testing.T, s *Store, key string) {
	t.Helper()
	ctx := context.Background()
	ev := func(n string) []store.Event {
		return []store.Event{{Event: outgoing.Event{ID: n + "-" + key, Type: "io.vpngw.test", Body: []byte("{}")}}}
	}
	r := store.Request{Key: key, Source: "src", EventID: key, ClientToken: "t", RegionID: "cn-hangzhou", Params: []byte("{}")}
	if _, _, err := s.Insert(ctx, r, ev("received")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, key, []store.State{store.Received}, store.Pending, "", store.Change{AcceptedAt: time.Now()}, ev("pending")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, key, []store.State{store.Pending}, store.Active, "", store.Change{GatewayID: "vpn-" + key}, ev("active")); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Unsent(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, e := range evs {
		seqs = append(seqs, e.Seq)
	}
	if err := s.MarkSent(ctx, seqs); err != nil {
		t.Fatal(err)
	}
}

// fullIndexes names the indexes of requests and outbox that hold an entry
// for each of n rows: every request's or event's write maintains them.
func fullIndexes(entries map[string]int, n int) []string {
	var out []string
	for name, c := range entries {
		if c >= n {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// wantFull are the indexes a request that does not expire and is never
// found orphaned, and its events once sent, stay in: the key, the claim
// (state and age), the per-day quota (source and acceptance) and the
// gateway lookup. Each one more is another B-tree page written by the
// request's inserts and updates.
var wantFull = []string{"requests_claim_idx", "requests_gateway_idx", "requests_source_accepted_idx"}

// TestSQLiteRequestStaysInFewIndexes: a provision request and its sent
// events are kept in the indexes some query of theirs reads, and in no
// other. Before migration 0019 it was in seven indexes (source and state,
// expires_at and orphaned_at besides the ones above, the last two holding
// only NULLs for it), and each event in outbox_request_idx, which no query
// reads, and outbox_unsent_idx until sent; the WAL frames its writes add
// are logged for comparison.
func TestSQLiteRequestStaysInFewIndexes(t *testing.T) {
	s := openSQLiteFile(t, "")
	const n = 10
	if _, err := s.wdb.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		provisionLife(t, s, fmt.Sprintf("k%02d", i))
	}
	var busy, frames, done int
	if err := s.wdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
		t.Fatal(err)
	}
	t.Logf("WAL frames written by %d provision requests: %d (%.1f a request)", n, frames, float64(frames)/n)

	rows, err := s.wdb.Query(`SELECT d.name, SUM(d.ncell) FROM dbstat d JOIN sqlite_schema m ON m.name = d.name
		WHERE m.type = 'index' AND m.tbl_name IN ('requests', 'outbox') AND m.name NOT LIKE 'sqlite_autoindex_%'
		AND d.pagetype = 'leaf' GROUP BY d.name`)
	entries := countsByName(t, rows, err)
	if got := fullIndexes(entries, n); !slices.Equal(got, wantFull) {
		t.Errorf("indexes holding each of %d provision requests or their sent events: %q, want %q (entries by index: %v)", n, got, wantFull, entries)
	}
}

// TestPostgresRequestStaysInFewIndexes is TestSQLiteRequestStaysInFewIndexes
// on PostgreSQL, where every update of a request that is not HOT (each
// change of state is not: the claim index holds the state) writes a new
// entry in every index the row is in, so an index the row leaves costs
// nothing on any of its updates. PostgreSQL keeps the source and state
// index: the quota's count reads it and the source and acceptance index
// together (BitmapOr), see TestPostgresChangedIndexPlans.
func TestPostgresRequestStaysInFewIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testenv.StoreURL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const n = 10
	for i := range n {
		provisionLife(t, s, fmt.Sprintf("k%02d", i))
	}
	if _, err := s.wdb.ExecContext(ctx, `ANALYZE requests, outbox`); err != nil {
		t.Fatal(err)
	}
	rows, err := s.wdb.QueryContext(ctx, `SELECT c.relname, c.reltuples::int FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid IN ('requests'::regclass, 'outbox'::regclass) AND NOT i.indisprimary`)
	entries := countsByName(t, rows, err)
	want := slices.Sorted(slices.Values(append(slices.Clone(wantFull), "requests_source_idx")))
	if got := fullIndexes(entries, n); !slices.Equal(got, want) {
		t.Errorf("indexes holding each of %d provision requests or their sent events: %q, want %q (entries by index: %v)", n, got, want, entries)
	}
}

// The texts of the store's queries whose indexes migration 0019 changed,
// as sent (expiry.go, orphans.go, quota.go, chatstatus.go, sinks.go,
// outboxstatus.go), with the columns cut to what the plan needs.
const (
	planExpiring = `SELECT request_key FROM requests WHERE state = ? AND kind = ? AND expires_at IS NOT NULL AND expires_at <= ? AND expiry_warned < ?
		ORDER BY expires_at, request_key LIMIT ?`
	planOrphans = `SELECT request_key, orphaned_at FROM requests WHERE orphaned_at IS NOT NULL
		ORDER BY orphaned_at, request_key LIMIT ?`
	planQuota = `SELECT
		COUNT(CASE WHEN state IN (?, ?) THEN 1 END),
		COUNT(CASE WHEN state = ? OR accepted_at >= ? THEN 1 END)
		FROM requests WHERE source = ? AND request_key <> ? AND kind = ? AND (state IN (?, ?) OR accepted_at >= ?)`
	planChat    = `SELECT request_key FROM requests WHERE source = ? AND chat_user = ? AND (event_id = ? OR gateway_id = ?) ORDER BY created_at DESC, request_key LIMIT ?`
	planGateway = `SELECT request_key FROM requests WHERE gateway_id = ? AND kind = ? ORDER BY created_at, request_key LIMIT 1`
	planUnsent  = `SELECT o.seq, COALESCE(r.sinks, ''), ` + replyColumns + ` FROM outbox o LEFT JOIN requests r ON r.request_key = o.request_key ` + replyJoin + `
		WHERE o.sent_at IS NULL AND o.seq > ?
		AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.sink = ? AND d.seq = o.seq)
		ORDER BY o.seq LIMIT ?`
	planMarkSent = `UPDATE outbox SET sent_at = ?
		WHERE sent_at IS NULL
		AND (SELECT COUNT(*) FROM outbox_deliveries d WHERE d.seq = outbox.seq AND d.sink IN (?)) >= ?
		AND seq IN (?, ?)`
	planPending = `SELECT COUNT(*), MIN(o.created_at) FROM outbox o WHERE o.sent_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.sink = ? AND d.seq = o.seq)`
)

// planCase is a query and the indexes its plan may read first, separated
// by "|": the planner picks among them by the data.
type planCase struct {
	name, q, index string
	args           []any
}

// readsOneOf reports whether step names one of the indexes of c.
func (c planCase) readsOneOf(step string) bool {
	for _, ix := range strings.Split(c.index, "|") {
		if strings.Contains(step, ix) {
			return true
		}
	}
	return false
}

// TestSQLiteChangedIndexPlans: each query that read an index migration 0019
// dropped or narrowed still reads an index, the one named.
func TestSQLiteChangedIndexPlans(t *testing.T) {
	s := openSQLiteFile(t, "")
	for i := range 30 {
		provisionLife(t, s, fmt.Sprintf("k%02d", i))
	}
	now := s.d.timeArg(time.Now())
	for _, c := range []planCase{
		{"expiring", planExpiring, "INDEX requests_expires_idx|INDEX requests_claim_idx (state=?)", []any{"active", "create", now, 3, 10}},
		{"orphans", planOrphans, "INDEX requests_orphaned_idx", []any{10}},
		{"quota", planQuota, "INDEX requests_source_accepted_idx (source=?)", []any{"received", "pending", "received", now, "src", "x", "create", "received", "pending", now}},
		{"chat requests", planChat, "INDEX requests_source_accepted_idx (source=?)", []any{"src", "u", "e", "e", 10}},
		{"created gateway", planGateway, "INDEX requests_gateway_idx (gateway_id=?)", []any{"vpn-k01", "create"}},
		{"unsent after", planUnsent, "INDEX outbox_unsettled_idx (seq>?)", []any{0, "", 10}},
		{"mark sent", planMarkSent, "INDEX outbox_unsettled_idx (seq=?)|INTEGER PRIMARY KEY (rowid=?)", []any{now, "", 1, 1, 2}},
		{"outbox status", planPending, "INDEX outbox_unsettled_idx", []any{""}},
	} {
		plan := sqlitePlan(t, s.wdb, c.q, c.args...)
		all := strings.Join(plan, "; ")
		first := ""
		if len(plan) > 0 {
			first = plan[0]
		}
		if !c.readsOneOf(first) {
			t.Errorf("%s: plan %q, want its first step to read %s", c.name, all, c.index)
		}
	}
}

// TestPostgresChangedIndexPlans is TestSQLiteChangedIndexPlans on
// PostgreSQL, with the generic plan (the one a prepared statement keeps)
// and sequential scans priced out, so that a query no index can serve shows
// a Seq Scan.
func TestPostgresChangedIndexPlans(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testenv.StoreURL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 30 {
		provisionLife(t, s, fmt.Sprintf("k%02d", i))
	}
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`SET enable_seqscan = off`, `SET plan_cache_mode = force_generic_plan`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for i, c := range []planCase{
		{"expiring", planExpiring, "requests_expires_idx|requests_claim_idx", []any{"active", "create", now, 3, 10}},
		{"orphans", planOrphans, "requests_orphaned_idx", []any{10}},
		{"quota", planQuota, "requests_source", []any{"received", "pending", "received", now, "src", "x", "create", "received", "pending", now}},
		{"chat requests", planChat, "requests_source", []any{"src", "u", "e", "e", 10}},
		{"created gateway", planGateway, "requests_gateway_idx", []any{"vpn-k01", "create"}},
		{"unsent after", planUnsent, "outbox_unsettled_idx", []any{0, "", 10}},
		{"mark sent", planMarkSent, "outbox_pkey|outbox_unsettled_idx", []any{now, "", 1, 1, 2}},
		{"outbox status", planPending, "outbox_unsettled_idx", []any{""}},
	} {
		name := fmt.Sprintf("plan_%d", i)
		var types []string
		for _, a := range c.args {
			switch a.(type) {
			case int:
				types = append(types, "bigint")
			case time.Time:
				types = append(types, "timestamptz")
			default:
				types = append(types, "text")
			}
		}
		if _, err := conn.ExecContext(ctx, `PREPARE `+name+`(`+strings.Join(types, ", ")+`) AS `+s.d.rebind(c.q)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var lits []string
		for _, a := range c.args {
			switch v := a.(type) {
			case int:
				lits = append(lits, fmt.Sprint(v))
			case time.Time:
				lits = append(lits, "'"+v.UTC().Format(time.RFC3339Nano)+"'")
			default:
				lits = append(lits, "'"+v.(string)+"'")
			}
		}
		rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE `+name+`(`+strings.Join(lits, ", ")+`)`)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, strings.TrimSpace(line))
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, "Index") || !c.readsOneOf(all) || strings.Contains(all, "Seq Scan on requests") || strings.Contains(all, "Seq Scan on outbox ") {
			t.Errorf("%s: generic plan %q, want an index scan of %s*", c.name, all, c.index)
		}
	}
}

// undo0019 puts back the indexes migration 0019 dropped or narrowed, and
// forgets that it ran: a database as 0018 left it.
var undo0019 = map[string][]string{
	"sqlite": {
		`DROP INDEX requests_expires_idx`, `CREATE INDEX requests_expires_idx ON requests (expires_at)`,
		`DROP INDEX requests_orphaned_idx`, `CREATE INDEX requests_orphaned_idx ON requests (orphaned_at)`,
		`CREATE INDEX requests_source_idx ON requests (source, state)`,
		`CREATE INDEX outbox_request_idx ON outbox (request_key)`,
		`CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL AND parked_at IS NULL`,
		`CREATE INDEX outbox_parked_idx ON outbox (seq) WHERE sent_at IS NULL AND parked_at IS NOT NULL`,
	},
	"postgres": {
		`DROP INDEX requests_expires_idx`, `CREATE INDEX requests_expires_idx ON requests (expires_at)`,
		`DROP INDEX requests_orphaned_idx`, `CREATE INDEX requests_orphaned_idx ON requests (orphaned_at)`,
		`CREATE INDEX outbox_request_idx ON outbox (request_key)`,
		`CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL AND parked_at IS NULL`,
		`CREATE INDEX outbox_parked_idx ON outbox (seq) WHERE sent_at IS NULL AND parked_at IS NOT NULL`,
	},
	"mysql": {
		`ALTER TABLE outbox ADD INDEX outbox_unsent_idx (sent_at, parked_at, seq)`,
	},
}

// testMigrate0019WithRows: a database as 0018 left it, holding requests
// (one expiring, one orphaned) and events sent and unsent, migrates, keeps
// every row, and its queries find them by the new indexes; migrating again
// after a run that stopped before recording 0019 (MySQL commits each DDL
// statement) finds it done.
func testMigrate0019WithRows(t *testing.T, rawURL string) {
	ctx := context.Background()
	s, err := Open(ctx, rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 3 {
		provisionLife(t, s, fmt.Sprintf("k%d", i))
	}
	if _, _, err := s.Insert(ctx, store.Request{Key: "unsent", Source: "src", EventID: "unsent", ClientToken: "t", RegionID: "cn-hangzhou", Params: []byte("{}")},
		[]store.Event{{Event: outgoing.Event{ID: "ev-unsent", Type: "io.vpngw.test", Body: []byte("{}")}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.wdb.ExecContext(ctx, s.d.rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`UPDATE requests SET expires_at = ? WHERE request_key = ?`, s.d.timeArg(now.Add(-time.Minute)), "k1")
	exec(`UPDATE requests SET orphaned_at = ? WHERE request_key = ?`, s.d.timeArg(now), "k2")
	for _, q := range undo0019[s.d.kind] {
		exec(q)
	}
	exec(`DELETE FROM schema_migrations WHERE version = 19`)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx); err != nil || n != 4 {
		t.Fatalf("Count after migrating = %d, %v; want 4", n, err)
	}
	exp, err := s.Expiring(ctx, now, 10)
	if err != nil || len(exp) != 1 || exp[0].Key != "k1" {
		t.Fatalf("Expiring after migrating = %v, %v; want [k1]", exp, err)
	}
	orph, err := s.ListOrphans(ctx, 10)
	if err != nil || len(orph) != 1 || orph[0].Key != "k2" {
		t.Fatalf("ListOrphans after migrating = %v, %v; want [k2]", orph, err)
	}
	unsent, err := s.Unsent(ctx, 10)
	if err != nil || len(unsent) != 1 || unsent[0].ID != "ev-unsent" {
		t.Fatalf("Unsent after migrating = %v, %v; want [ev-unsent]", unsent, err)
	}
	exec(`DELETE FROM schema_migrations WHERE version = 19`)
	if s.d.kind == "mysql" {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrating again after 0019 ran unrecorded: %v", err)
		}
	}
}

func TestSQLiteMigrate0019WithRows(t *testing.T) {
	testMigrate0019WithRows(t, testenv.StoreURL(t, "sqlite"))
}

func TestPostgresMigrate0019WithRows(t *testing.T) {
	testMigrate0019WithRows(t, testenv.StoreURL(t, "postgres"))
}

func TestMySQLMigrate0019WithRows(t *testing.T) {
	testMigrate0019WithRows(t, testenv.StoreURL(t, "mysql"))
}

// TestMySQLOutboxPlansUseUnsettledIndex: with outbox_unsent_idx gone
// (migration 0019), the drain's read, the sent mark and the outbox status
// read outbox_unsettled_idx (sent_at, seq), as they did when both were
// there.
func TestMySQLOutboxPlansUseUnsettledIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testenv.StoreURL(t, "mysql"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 30 {
		provisionLife(t, s, fmt.Sprintf("k%02d", i))
	}
	// A history of settled events, as a store in use holds: on a table of a
	// few rows a scan of it all costs less than any index.
	for range 5 {
		if _, err := s.wdb.ExecContext(ctx, `INSERT INTO outbox (id, request_key, type, body, created_at, sent_at)
			SELECT CONCAT(id, '-', seq), request_key, type, body, created_at, sent_at FROM outbox`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.wdb.ExecContext(ctx, `ANALYZE TABLE outbox, outbox_deliveries, requests`); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, c := range []planCase{
		{"unsent after", planUnsent, "outbox_unsettled_idx|PRIMARY", []any{0, "", 10}},
		{"mark sent", planMarkSent, "outbox_unsettled_idx|PRIMARY", []any{now, "", 1, 1, 2}},
		{"outbox status", planPending, "outbox_unsettled_idx", []any{""}},
	} {
		rows, err := s.wdb.QueryContext(ctx, "EXPLAIN "+c.q, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		cols, _ := rows.Columns()
		var first string
		var all []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			all = append(all, fmt.Sprintf("%s", vals))
			if first != "" {
				continue
			}
			for i, col := range cols {
				if col == "table" && fmt.Sprintf("%s", vals[i]) != "o" && fmt.Sprintf("%s", vals[i]) != "outbox" {
					break
				}
				if col == "key" {
					first = fmt.Sprintf("%s", vals[i])
				}
			}
		}
		rows.Close()
		if first == "" || !c.readsOneOf(first) {
			t.Errorf("%s: outbox read by key %q, want %s (plan %q)", c.name, first, c.index, all)
		}
	}
}

// countsByName reads rows of a name and a count into a map.
func countsByName(t *testing.T, rows *sql.Rows, err error) map[string]int {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var name string
		var c int
		if err := rows.Scan(&name, &c); err != nil {
			t.Fatal(err)
		}
		counts[name] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}
