package ctl_test

import (
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/testenv"
)

// schema says a fresh store is behind and names the command; migrate brings
// it up; schema then says so; commands that read the store refuse it until
// then. On every store.
func TestMigrateAndSchema(t *testing.T) {
	for kind, u := range testenv.StoreURLs(t) {
		t.Run(kind, func(t *testing.T) {
			env := []string{"VPNGW_STORE_URL=" + u, "VPNGW_ALLOW_INSECURE_TRANSPORT=1"}
			if r := ctl(t, env, "schema"); r.code != 1 || !strings.Contains(r.out, "run vpngwctl migrate") {
				t.Fatalf("schema of a fresh store: %v", r)
			}
			if r := ctl(t, env, "requests", "list"); r.code != 1 || !strings.Contains(r.errOut, "vpngwctl migrate") {
				t.Fatalf("list on a fresh store: %v", r)
			}
			if r := ctl(t, env, "migrate"); r.code != 0 || !strings.Contains(r.out, "schema at version") {
				t.Fatalf("migrate: %v", r)
			}
			if r := ctl(t, env, "schema"); r.code != 0 || !strings.Contains(r.out, "up to date") {
				t.Fatalf("schema after migrate: %v", r)
			}
			if r := ctl(t, env, "requests", "list"); r.code != 0 || !strings.Contains(r.out, "no request matches") {
				t.Fatalf("list after migrate: %v", r)
			}
			if r := ctl(t, env, "migrate", "now"); r.code != 2 || !strings.Contains(r.errOut, "migrate takes no arguments") {
				t.Fatalf("migrate now: %v", r)
			}
		})
	}
	// No store named: the error says what to set.
	if r := ctl(t, nil, "requests", "list"); r.code != 1 || !strings.Contains(r.errOut, "VPNGW_STORE_URL is not set") {
		t.Fatalf("no store: %v", r)
	}
}

// send signs and posts as before; without a secret it says which to set
// before anything is sent.
func TestSendNeedsItsSecret(t *testing.T) {
	r := ctl(t, nil, "send", "--route", "webhook", "--data", `{"specversion":"1.0"}`)
	if r.code != 2 || !strings.Contains(r.errOut, "VPNGW_WEBHOOK_SECRET") {
		t.Fatalf("send without a secret: %v", r)
	}
}
