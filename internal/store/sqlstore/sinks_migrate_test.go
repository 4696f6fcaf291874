package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// TestMigrationGivesTheFirstSinkTheOldState: a store as builds before
// per-sink delivery left it (one event sent, one parked, one unsent)
// migrates to the first sink's state: the sent one is not offered again,
// the parked one stays parked with its reason, the unsent one is unsent.
func TestMigrationGivesTheFirstSinkTheOldState(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sqliteURL(t))
	now := time.Now()
	if _, _, err := s.Insert(ctx, store.Request{Key: "k", Source: "s", EventID: "k", Params: []byte("{}"), CreatedAt: now, UpdatedAt: now},
		[]store.Event{{RequestKey: "k", Event: outgoing.Event{ID: "sent", Type: "t", Body: []byte("{}")}},
			{RequestKey: "k", Event: outgoing.Event{ID: "parked", Type: "t", Body: []byte("{}")}},
			{RequestKey: "k", Event: outgoing.Event{ID: "unsent", Type: "t", Body: []byte("{}")}}}); err != nil {
		t.Fatal(err)
	}
	// Back to schema 0009: no deliveries table, the state on the outbox rows.
	for _, q := range []string{
		`DROP INDEX outbox_unsettled_idx`,
		`DROP TABLE outbox_deliveries`,
		`DELETE FROM schema_migrations WHERE version = 10`,
		`UPDATE outbox SET sent_at = '2026-11-01T00:00:00.000000Z' WHERE id = 'sent'`,
		`UPDATE outbox SET parked_at = '2026-11-01T00:00:00.000000Z', parked_reason = 'too large' WHERE id = 'parked'`,
	} {
		if err := sqlstore.Exec(s, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	unsent, err := s.Unsent(ctx, 10)
	if err != nil || len(unsent) != 1 || unsent[0].ID != "unsent" {
		t.Fatalf("Unsent after the migration = %v, %v; want [unsent]", ids(unsent), err)
	}
	parked, err := s.ParkedFor(ctx, store.FirstSink, 10)
	if err != nil || len(parked) != 1 || parked[0].ID != "parked" || parked[0].ParkedReason != "too large" {
		t.Fatalf("ParkedFor(first sink) = %+v, %v; want the parked event with its reason", parked, err)
	}
	// A second sink added with the upgrade starts from what is not settled:
	// the parked and the unsent event, not the one sent before.
	if got, _ := s.UnsentFor(ctx, "https://r.example/#1", 10); len(got) != 2 {
		t.Fatalf("UnsentFor(a new sink) = %v, want [parked unsent]", ids(got))
	}
}

func ids(evs []store.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}
