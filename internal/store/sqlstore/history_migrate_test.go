package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
)

// TestMigrationGivesEachRequestItsStateAsHistory: requests recorded before
// the history was kept (schema 0010) each get one entry at migration 0011:
// their state then, by the actor "migration", with the last error as the
// reason; a request recorded afterwards has its own entries only.
func TestMigrationGivesEachRequestItsStateAsHistory(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *sqlstore.Store{
		"sqlite": func(t *testing.T) *sqlstore.Store { return openStore(t, sqliteURL(t)) },
		"postgres": func(t *testing.T) *sqlstore.Store {
			testenv.URL(t, testenv.PostgresEnv)
			return openStore(t, testenv.StoreURL(t, "postgres"))
		},
		"mysql": func(t *testing.T) *sqlstore.Store {
			testenv.URL(t, testenv.MySQLEnv)
			return openStore(t, testenv.StoreURL(t, "mysql"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
			for _, r := range []store.Request{
				{Key: "old-active", Source: "s", EventID: "a", Params: []byte("{}"), State: store.Active, GatewayID: "vpn-old", CreatedAt: at, UpdatedAt: at.Add(time.Minute)},
				{Key: "old-failed", Source: "s", EventID: "f", Params: []byte("{}"), State: store.Failed, LastError: "PolicyDenied: rule r", CreatedAt: at, UpdatedAt: at},
			} {
				if _, _, err := s.Insert(ctx, r, nil); err != nil {
					t.Fatal(err)
				}
			}
			// Back to schema 0010: no history.
			for _, q := range []string{`DROP TABLE request_history`, `DELETE FROM schema_migrations WHERE version = 11`} {
				if err := sqlstore.Exec(s, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			h, err := s.History(ctx, "old-active")
			if err != nil || len(h) != 1 || h[0].State != store.Active || h[0].Actor != store.ActorMigration ||
				h[0].GatewayID != "vpn-old" || !h[0].At.Equal(at.Add(time.Minute)) || h[0].Reason == "" {
				t.Errorf("history of a request active before the migration = %+v, %v; want one migration entry, active at its last change", h, err)
			}
			h, err = s.History(ctx, "old-failed")
			if err != nil || len(h) != 1 || h[0].State != store.Failed || h[0].Reason != "PolicyDenied: rule r" {
				t.Errorf("history of a request failed before the migration = %+v, %v; want one entry with its last error", h, err)
			}
			if _, _, err := s.Insert(ctx, store.Request{Key: "new", Source: "s", EventID: "n", Params: []byte("{}"),
				Note: store.Note{Actor: store.ActorProvision, Reason: "recorded"}}, nil); err != nil {
				t.Fatal(err)
			}
			if h, err := s.History(ctx, "new"); err != nil || len(h) != 1 || h[0].Actor != store.ActorProvision {
				t.Errorf("history of a request recorded after = %+v, %v; want its own entry", h, err)
			}
		})
	}
}
