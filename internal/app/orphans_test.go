package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// timedOutGateway sends a create request whose gateway takes longer to
// provision (40 minutes on the emulator's clock) than
// VPNGW_PROVISION_TIMEOUT (30 minutes): the request is announced failed
// with Timeout while the gateway is still creating. It returns the
// gateway's id and the request's key.
func (s *stack) timedOutGateway(id string) (string, string) {
	s.t.Helper()
	resp, err := s.provision(requestEvent(id, validData()))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].VpnGatewayId == "" {
		s.t.Fatalf("create %s: %+v %v", id, resp, err)
	}
	s.Clock.Advance(31 * time.Minute)
	if rep := s.tick(); rep.Failed != 1 || rep.Orphaned != 0 {
		s.t.Fatalf("tick past the provisioning timeout: %+v, want 1 failed and nothing orphaned (still creating)", rep)
	}
	f := onlyEvent[events.Failed](s.t, s, events.TypeFailed)
	if f.Code != events.CodeTimeout {
		s.t.Fatalf("failed %+v, want Timeout", f)
	}
	return resp.Results[0].VpnGatewayId, resp.Results[0].Key
}

// A request announced failed with Timeout whose gateway then turns up
// active: a later tick announces it orphaned, once; under the default
// policy (orphans: report) nothing is deleted, under orphans: delete it is
// deleted and announced deleted.
func TestOrphanedGateway(t *testing.T) {
	for _, name := range []string{"report", "delete", "delete-no-rule-deletes"} {
		t.Run(name, func(t *testing.T) {
			mode, pol := name, app.LocalPolicy
			if name == "delete-no-rule-deletes" {
				// orphans: delete is the operator's own word: it holds
				// although no rule's actions list delete.
				mode = "delete"
				pol = strings.NewReplacer("    actions: [create, delete]\n", "", "    deleteOwnOnly: false\n", "").Replace(pol)
			}
			if mode == "delete" {
				pol = "orphans: delete\n" + pol
			}
			s := newStack(t, apptest.WithEmulator(vpcsim.WithProvisioningDelay(40*time.Minute)),
				apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": pol}))
			gw, key := s.timedOutGateway("orphan-1")
			// Ten minutes on, the gateway is active: the request's
			// failure is past, the gateway costs money.
			s.Clock.Advance(10*time.Minute + time.Second)
			if g, err := s.API.Gateway(gw); err != nil || g.Status != "active" {
				t.Fatalf("emulator: %+v %v, want the gateway active", g, err)
			}
			calls := s.API.Calls("DescribeVpnGateways")
			rep := s.tick()
			if rep.Orphaned != 1 {
				t.Fatalf("tick after the gateway turned up: %+v, want 1 orphaned", rep)
			}
			// One page of the region's listing; under orphans: delete the
			// delete path also looks the gateway up by id before deleting,
			// and the tick then checks the delete request, now pending.
			want := 1
			if mode == "delete" {
				want = 3
			}
			if n := s.API.Calls("DescribeVpnGateways") - calls; n != want {
				t.Errorf("the tick made %d DescribeVpnGateways calls, want %d", n, want)
			}
			o := onlyEvent[events.Orphaned](t, s, events.TypeOrphaned)
			if o.VpnGatewayId != gw || o.RegionId != "cn-hangzhou" || o.Request.EventID != "orphan-1" ||
				o.Status != "active" || o.FailedCode != events.CodeTimeout || o.Action != mode {
				t.Fatalf("orphaned event %+v", o)
			}
			if ev := s.EventsOfType(events.TypeOrphaned); ev[0].Subject != gw {
				t.Errorf("orphaned event subject %q, want %s", ev[0].Subject, gw)
			}
			ctx := context.Background()
			h, err := s.App.Store.History(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if last := h[len(h)-1]; mode == "report" && (last.Actor != store.ActorReconcile || !strings.Contains(last.Reason, gw) || !strings.Contains(last.Reason, "orphans: report")) {
				t.Errorf("last history entry %+v, want reconcile's, naming %s and the policy", last, gw)
			}
			if orphans, err := s.App.Store.ListOrphans(ctx, 10); err != nil || len(orphans) != 1 || orphans[0].GatewayID != gw {
				t.Fatalf("ListOrphans = %+v %v", orphans, err)
			}

			if mode == "report" {
				for range 3 {
					s.Clock.Advance(reconcile.OrphanInterval + time.Minute)
					if rep := s.tick(); rep.Orphaned != 0 {
						t.Fatalf("a later tick: %+v, want nothing orphaned again", rep)
					}
				}
				onlyEvent[events.Orphaned](t, s, events.TypeOrphaned)
				if n := s.API.Calls("DeleteVpnGateway"); n != 0 {
					t.Errorf("DeleteVpnGateway called %d times under orphans: report", n)
				}
				if g, err := s.API.Gateway(gw); err != nil || g.Status != "active" {
					t.Errorf("emulator: %+v %v, want the gateway kept", g, err)
				}
				return
			}
			// orphans: delete. The delete request is under way.
			if n := s.API.Calls("DeleteVpnGateway"); n != 1 {
				t.Fatalf("DeleteVpnGateway called %d times, want 1", n)
			}
			if o.Deletion == nil || o.Deletion.EventID != "orphan-1/orphan" {
				t.Fatalf("orphaned event names deletion %+v", o.Deletion)
			}
			s.Clock.Advance(31 * time.Second)
			if rep := s.tick(); rep.Deleted != 1 || rep.Orphaned != 0 {
				t.Fatalf("tick after the deletion delay: %+v, want 1 deleted", rep)
			}
			if _, err := s.API.Gateway(gw); err == nil {
				t.Fatal("the emulator still holds the gateway")
			}
			d := onlyEvent[events.Deleted](t, s, events.TypeDeleted)
			if d.VpnGatewayId != gw || d.Request.EventID != "orphan-1/orphan" || d.Created == nil || d.Created.EventID != "orphan-1" {
				t.Fatalf("deleted event %+v", d)
			}
			if r, err := s.App.Store.Get(ctx, key); err != nil || r.State != store.Deleted {
				t.Fatalf("create request after the deletion: %+v %v", r.State, err)
			}
			s.Clock.Advance(reconcile.OrphanInterval + time.Minute)
			if rep := s.tick(); rep.Orphaned != 0 || rep.Deleted != 0 {
				t.Fatalf("a later tick: %+v", rep)
			}
			onlyEvent[events.Orphaned](t, s, events.TypeOrphaned)
		})
	}
}
