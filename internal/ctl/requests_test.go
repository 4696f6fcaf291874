package ctl_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

const src = "acs:eventbridge:tickets"

// leftReceived starts a stack and delivers the create request id of src
// while the access key is deleted: an operator fault leaves it received.
// restoreKey puts the key back.
func leftReceived(t *testing.T, id string) (s *apptest.Stack, env []string, restoreKey func()) {
	t.Helper()
	s = apptest.New(t, apptest.WithWallClock())
	if err := s.API.RemoveAccessKey(vpcsim.DefaultAccessKeyID); err != nil {
		t.Fatal(err)
	}
	if err := provision(t, s, src, id); err == nil {
		t.Fatal("provision with the key deleted succeeded")
	}
	return s, ctlEnv(s), func() {
		t.Helper()
		if err := s.API.SetAccessKey(vpcsim.Credential{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret}); err != nil {
			t.Fatal(err)
		}
	}
}

// A request left received by an operator fault (the access key deleted),
// re-driven once the key is back, creates its gateway once: a second
// re-drive is refused, and the history says the operator did it.
func TestRedriveAfterOperatorFaultCreatesOnce(t *testing.T) {
	s, env, restoreKey := leftReceived(t, "OPS-1")
	if n := len(s.API.Gateways()); n != 0 {
		t.Fatalf("%d gateways before the re-drive", n)
	}
	if r := ctl(t, env, "requests", "list", "--state", "received"); r.code != 0 || !strings.Contains(r.out, "OPS-1") || !strings.Contains(r.out, "InvalidAccessKeyId") {
		t.Fatalf("requests list: %v", r)
	}
	// Still broken: the re-drive fails, says to fix and run again, and
	// creates nothing.
	if r := ctl(t, env, "requests", "redrive", src, "OPS-1"); r.code != 1 || !strings.Contains(r.errOut, "still received") || len(s.API.Gateways()) != 0 {
		t.Fatalf("re-drive while the key is missing: %v", r)
	}
	restoreKey()
	r := ctl(t, env, "requests", "redrive", src, "OPS-1")
	if r.code != 0 || !strings.Contains(r.out, "request "+src+" OPS-1: pending, gateway vpn-") {
		t.Fatalf("re-drive: %v", r)
	}
	if n := len(s.API.Gateways()); n != 1 {
		t.Fatalf("%d gateways after the re-drive, want 1", n)
	}
	r = ctl(t, env, "requests", "redrive", src, "OPS-1")
	if r.code != 3 || !strings.Contains(r.errOut, "is pending with gateway vpn-") || len(s.API.Gateways()) != 1 {
		t.Fatalf("second re-drive: %v (%d gateways)", r, len(s.API.Gateways()))
	}
	gw := s.API.Gateways()[0].ID
	r = ctl(t, env, "requests", "show", "-o", "json", gw)
	var got struct {
		State        store.State
		VpnGatewayId string
		History      []struct {
			State  store.State
			Actor  store.Actor
			Reason string
		}
	}
	if err := json.Unmarshal([]byte(r.out), &got); r.code != 0 || err != nil || got.State != store.Pending || got.VpnGatewayId != gw {
		t.Fatalf("show by gateway: %v %v", err, r)
	}
	last := got.History[len(got.History)-1]
	if last.State != store.Pending || last.Actor != store.ActorOperator || !strings.Contains(last.Reason, "CreateVpnGateway accepted") {
		t.Errorf("last history entry %+v, want pending by the operator", last)
	}
	// The accepted event went out with the re-drive.
	if evs := s.EventsOfType(events.TypeAccepted); len(evs) != 1 || evs[0].Subject != gw {
		t.Errorf("accepted events %+v", evs)
	}
}

// cancel settles a request for which nothing was created, with a failed
// event for its requester and the operator and reason in its history; a
// request that has a gateway, or whose attempt may have made one, is
// refused.
func TestCancel(t *testing.T) {
	s, env, restoreKey := leftReceived(t, "OPS-2")
	if r := ctl(t, env, "requests", "cancel", src, "OPS-2"); r.code != 2 || !strings.Contains(r.errOut, "--reason is required") {
		t.Fatalf("cancel without a reason: %v", r)
	}
	restoreKey()
	r := ctl(t, env, "requests", "cancel", "--reason", "duplicate of OPS-3", src, "OPS-2")
	if r.code != 0 || !strings.Contains(r.out, "OPS-2: failed (Cancelled)") {
		t.Fatalf("cancel: %v", r)
	}
	r = ctl(t, env, "requests", "show", src, "OPS-2")
	if r.code != 0 || !strings.Contains(r.out, "failed") || !strings.Contains(r.out, "operator") || !strings.Contains(r.out, "cancelled by the operator: duplicate of OPS-3") {
		t.Fatalf("show after cancel: %v", r)
	}
	failed := s.EventsOfType(events.TypeFailed)
	var f events.Failed
	if len(failed) != 1 || json.Unmarshal(failed[0].Data, &f) != nil || f.Code != events.CodeCancelled || f.Stage != events.StageCreate || !strings.Contains(f.Message, "duplicate of OPS-3") {
		t.Fatalf("failed events %+v", failed)
	}
	if len(s.API.Gateways()) != 0 {
		t.Fatal("a cancelled request made a gateway")
	}

	// Created: refused, and nothing changes.
	if err := provision(t, s, src, "OPS-4"); err != nil {
		t.Fatal(err)
	}
	r = ctl(t, env, "requests", "cancel", "--reason", "x", src, "OPS-4")
	if r.code != 3 || !strings.Contains(r.errOut, "is pending with gateway vpn-") {
		t.Fatalf("cancel of a created request: %v", r)
	}
	// An attempt that may have created (the API failed with a server
	// error): refused.
	if err := s.API.SetFaults(vpcsim.Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	if err := provision(t, s, src, "OPS-5"); err == nil {
		t.Fatal("provision against an API that only fails succeeded")
	}
	r = ctl(t, env, "requests", "cancel", "--reason", "x", src, "OPS-5")
	if r.code != 3 || !strings.Contains(r.errOut, "may have made a gateway") {
		t.Fatalf("cancel after a server error: %v", r)
	}
}

// list filters by state, source glob and age, as a table and as JSON; show
// names an unknown request's fix; bad flags are usage errors naming the
// allowed values. On every store.
func TestListAndShow(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			s := apptest.New(t, apptest.WithWallClock(), apptest.WithStore(kind))
			env := ctlEnv(s)
			for _, r := range []struct{ source, id string }{{src, "T-1"}, {src, "T-2"}, {"/webhook/ci", "B-1"}} {
				if err := provision(t, s, r.source, r.id); err != nil {
					t.Fatal(err)
				}
			}
			r := ctl(t, env, "requests", "list")
			lines := strings.Split(strings.TrimSpace(r.out), "\n")
			if r.code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "CREATED") || !strings.Contains(r.out, "pending") {
				t.Fatalf("list: %v", r)
			}
			r = ctl(t, env, "requests", "list", "--source", "acs:*", "--since", "1h", "-o", "json")
			var recs []struct{ Source, Id, VpnGatewayId string }
			if err := json.Unmarshal([]byte(r.out), &recs); r.code != 0 || err != nil || len(recs) != 2 || recs[0].Source != src || recs[0].VpnGatewayId == "" {
				t.Fatalf("list --source -o json: %v %v", err, r)
			}
			if r := ctl(t, env, "requests", "list", "--state", "active"); r.code != 0 || !strings.Contains(r.out, "no request matches") {
				t.Fatalf("list --state active: %v", r)
			}
			if r := ctl(t, env, "requests", "list", "--limit", "1"); r.code != 0 || !strings.Contains(r.errOut, "2 more requests match") {
				t.Fatalf("list --limit 1: %v", r)
			}
			if r := ctl(t, env, "requests", "list", "--state", "done"); r.code != 2 || !strings.Contains(r.errOut, `--state "done": not a state; want received, pending`) {
				t.Fatalf("bad state: %v", r)
			}
			if r := ctl(t, env, "requests", "list", "--since", "yesterday"); r.code != 2 || !strings.Contains(r.errOut, "want an age") {
				t.Fatalf("bad since: %v", r)
			}
			r = ctl(t, env, "history", "/webhook/ci", "B-1")
			if r.code != 0 || !strings.Contains(r.out, "request /webhook/ci B-1") || !strings.Contains(r.out, "allowed by rule local-allow-all") {
				t.Fatalf("history alias: %v", r)
			}
			if r := ctl(t, env, "requests", "show", src, "nope"); r.code != 1 || !strings.Contains(r.errOut, `no request with source "`+src+`" and id "nope"`) {
				t.Fatalf("unknown request: %v", r)
			}
			if r := ctl(t, env, "requests", "show", "vpn-none"); r.code != 1 || !strings.Contains(r.errOut, `no request made gateway "vpn-none"`) {
				t.Fatalf("unknown gateway: %v", r)
			}
		})
	}
}
