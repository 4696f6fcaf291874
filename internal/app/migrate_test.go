package app

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/testenv"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// A function (VPNGW_MIGRATE off, its default) on a store that was never
// migrated refuses to start, naming the versions found and needed and the
// command to run; `vpngwctl schema` says the same, `vpngwctl migrate` brings
// the schema up, and then the function starts. On SQLite, PostgreSQL and
// MySQL.
func TestFunctionChecksTheSchemaInsteadOfMigrating(t *testing.T) {
	for kind, storeURL := range testenv.StoreURLs(t) {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			env := map[string]string{
				"VPNGW_STORE_URL": storeURL,
				// The test servers are plaintext.
				"VPNGW_ALLOW_INSECURE_TRANSPORT": "1",
			}
			getenv := func(k string) string { return env[k] }
			start := func() (*App, error) {
				cfg, err := FromEnv(functionEnv(env), Function)
				if err != nil {
					t.Fatal(err)
				}
				pub, _ := queue.NewLogPublisher(&strings.Builder{})
				return New(ctx, cfg, slog.New(slog.DiscardHandler), WithPublisher(pub))
			}
			ctl := func(cmd string) (int, string) {
				var out, errOut strings.Builder
				code := Ctl(ctx, []string{cmd}, getenv, &out, &errOut)
				return code, out.String() + errOut.String()
			}

			_, err := start()
			if !errors.Is(err, sqlstore.ErrSchemaBehind) {
				t.Fatalf("start on an empty store: %v, want ErrSchemaBehind", err)
			}
			want := latestMigration(t, storeURL)
			for _, part := range []string{"VPNGW_STORE_URL", "schema version 0", "needs version " + want, "vpngwctl migrate", "VPNGW_MIGRATE=off"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("start-up error %q does not say %q", err, part)
				}
			}
			// Nothing was created: the check only reads.
			if code, out := ctl("schema"); code != 1 || !strings.Contains(out, "schema at version 0, this build needs "+want) {
				t.Errorf("vpngwctl schema before migrate: %d %q", code, out)
			}

			if code, out := ctl("migrate"); code != 0 || !strings.Contains(out, "schema at version "+want) {
				t.Fatalf("vpngwctl migrate: %d %q", code, out)
			}
			if code, out := ctl("schema"); code != 0 || !strings.Contains(out, "up to date") {
				t.Errorf("vpngwctl schema after migrate: %d %q", code, out)
			}
			a, err := start()
			if err != nil {
				t.Fatalf("start after migrate: %v", err)
			}
			a.Close()
			// Migrating again changes nothing and succeeds.
			if code, out := ctl("migrate"); code != 0 {
				t.Fatalf("vpngwctl migrate again: %d %q", code, out)
			}
		})
	}
}

// vpngwctl refuses a store without verified TLS as the functions do, and
// says how it is used.
func TestCtlRefusesPlaintextAndBadUsage(t *testing.T) {
	const pw = "ddl-user-password"
	env := map[string]string{"VPNGW_STORE_URL": "postgres://owner:" + pw + "@db.internal:5432/vpngw?sslmode=disable"}
	var out, errOut strings.Builder
	code := Ctl(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "VPNGW_STORE_URL") || !strings.Contains(errOut.String(), "sslmode=verify-full") || strings.Contains(errOut.String(), pw) {
		t.Errorf("migrate over plaintext: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Ctl(context.Background(), []string{"drop"}, func(string) string { return "" }, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: vpngwctl") {
		t.Errorf("unknown command: %d %q", code, errOut.String())
	}
}

// latestMigration is the version of the newest migration this build carries
// for the store at storeURL.
func latestMigration(t *testing.T, storeURL string) string {
	t.Helper()
	s, err := sqlstore.OpenSQL(context.Background(), storeURL, sqlstore.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, _, err := s.ExpectedSchemaVersion()
	if err != nil || v == 0 {
		t.Fatalf("expected schema version %d: %v", v, err)
	}
	return strconv.Itoa(v)
}
