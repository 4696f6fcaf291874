package ctl_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// A request announced failed with Timeout whose gateway then turns up:
// vpngwctl orphans lists it, failed, with its gateway.
func TestOrphans(t *testing.T) {
	s := apptest.New(t, apptest.WithEmulator(vpcsim.WithProvisioningDelay(40*time.Minute)))
	env := ctlEnv(s)
	tick := func() reconcile.Report {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rep, err := s.App.Reconcile.Tick(ctx, reconcile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if err := provision(t, s, src, "O-1"); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(31 * time.Minute)
	if rep := tick(); rep.Failed != 1 {
		t.Fatalf("tick: %+v, want the request failed (Timeout)", rep)
	}
	if r := ctl(t, env, "orphans"); r.code != 0 || !strings.Contains(r.out, "no orphan") {
		t.Fatalf("orphans before the gateway turned up: %v", r)
	}
	s.Clock.Advance(reconcile.OrphanInterval + time.Second)
	if rep := tick(); rep.Orphaned != 1 {
		t.Fatalf("tick: %+v, want 1 orphaned", rep)
	}
	r := ctl(t, env, "orphans")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ORPHANED") ||
		!strings.Contains(lines[1], "failed") || !strings.Contains(lines[1], "vpn-") || !strings.Contains(lines[1], "O-1") ||
		!strings.Contains(lines[1], "Timeout") {
		t.Fatalf("orphans: %v", r)
	}
	r = ctl(t, env, "orphans", "-o", "json")
	var recs []struct {
		Id, VpnGatewayId, State string
		OrphanedAt              time.Time
	}
	if err := json.Unmarshal([]byte(r.out), &recs); r.code != 0 || err != nil || len(recs) != 1 || recs[0].Id != "O-1" ||
		recs[0].State != "failed" || recs[0].VpnGatewayId == "" || recs[0].OrphanedAt.IsZero() {
		t.Fatalf("orphans -o json: %v %v", err, r)
	}
	if r := ctl(t, env, "orphans", "--limit", "0"); r.code != 2 || !strings.Contains(r.errOut, "--limit 0") {
		t.Fatalf("orphans --limit 0: %v", r)
	}
}
