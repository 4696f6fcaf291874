package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// A permission refusal that never passes (a RAM policy scoped away from
// what the request asks for) is retried while the operator may still fix
// it, then, once the request is older than VPNGW_PROVISION_TIMEOUT, fails
// with the API's code, announced once, naming what the operator must fix:
// it is not kept received for ever.
func TestPermissionFaultFailsAfterTheProvisionTimeout(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_PROVISION_TIMEOUT": "30m"}))
	if err := s.API.SetAccessKey(vpcsim.Credential{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret,
		DeniedActions: []string{"CreateVpnGateway"}}); err != nil {
		t.Fatal(err)
	}
	// The store stamps updated_at with the wall clock, and the re-drive age
	// is counted from it: the stack's clock starts at the wall clock here.
	s.Clock.Advance(time.Since(s.Clock.Now()))
	resp, err := s.provision(requestEvent("evt-scoped", validData()))
	if err == nil || resp.Results[0].State != store.Received || resp.Results[0].Code != "Forbidden.RAM" {
		t.Fatalf("first delivery: %+v %v, want kept for a retry", resp, err)
	}
	// Within the bound, a re-drive keeps it.
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	key := requestKey("acs:eventbridge:tickets", "evt-scoped")
	if rec, _ := s.App.Store.Get(context.Background(), key); rec.State != store.Received {
		t.Fatalf("state %s within the bound, want received", rec.State)
	}
	// Past it, the next re-drive fails it.
	s.Clock.Advance(31 * time.Minute)
	s.tick()
	rec, err := s.App.Store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != store.Failed || !strings.Contains(rec.LastError, "Forbidden.RAM") {
		t.Fatalf("record %s %q past the bound, want failed Forbidden.RAM", rec.State, rec.LastError)
	}
	s.Clock.Advance(31 * time.Minute)
	s.tick()
	d := onlyEvent[events.Failed](t, s, events.TypeFailed)
	if d.Code != "Forbidden.RAM" || !strings.Contains(d.Message, "ram-policy.json") {
		t.Fatalf("failed %+v, want the API's code and the operator's fix", d)
	}
	if n := len(s.API.Gateways()); n != 0 {
		t.Fatalf("%d gateways", n)
	}
}

// A request the API refuses for a permission of its own (a key scoped to
// one resource group; the request names another) does not stop a tick's
// re-drives: the next request, which the key may create, is created on the
// same tick instead of waiting behind it.
func TestRequestScopedPermissionFaultDoesNotStarveTheOthers(t *testing.T) {
	s := newStack(t)
	s.Clock.Advance(time.Since(s.Clock.Now()))
	if err := s.API.SetAccessKey(vpcsim.Credential{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret,
		ResourceGroups: []string{"rg-aek2allowed01"}}); err != nil {
		t.Fatal(err)
	}
	scoped := validData()
	scoped["ResourceGroupId"] = "rg-aek2other0001"
	resp, err := s.provision(requestEvent("evt-other-rg", scoped))
	if err == nil || resp.Results[0].State != store.Received || resp.Results[0].Code != "Forbidden.RAM" {
		t.Fatalf("scoped request: %+v %v, want kept for a retry with Forbidden.RAM", resp, err)
	}
	s.Clock.Advance(time.Second)
	s.recordOnly(requestEvent("evt-fine", validData()))
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d creates before the tick", n)
	}
	s.Clock.Advance(3 * time.Minute)
	rep := s.tick()
	t.Logf("tick: %+v", rep)
	rec := s.ticketRecord("evt-fine")
	if rec.State != store.Pending || len(s.API.Gateways()) != 1 {
		t.Fatalf("the allowed request is %s with %d gateways after the tick, want pending and created", rec.State, len(s.API.Gateways()))
	}
}
