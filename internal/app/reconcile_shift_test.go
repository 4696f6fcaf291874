package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// TestReconcileShiftedListingIsNoNotFound: while a tick pages through
// DescribeVpnGateways, someone deletes a gateway listed on page 1. The
// listing shifts: the pending request's gateway, first of page 2, moves to
// page 1, already read, and page 2 no longer holds it. The tick must not
// announce it gone: it asks for that gateway by id before it does, and
// finds it active. Only the missing gateway costs a call.
func TestReconcileShiftedListingIsNoNotFound(t *testing.T) {
	var (
		sim        *vpcsim.Server
		mu         sync.Mutex
		victim     string
		deleted    bool
		describeBy []string // the VpnGatewayId filter of each DescribeVpnGateways
	)
	// The emulator behind a hook: once page 1 of the listing has been
	// computed, the victim is deleted, as a console user might meanwhile.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sim.ServeHTTP(w, r)
		q := r.URL.Query()
		if q.Get("Action") != vpcclient.ActionDescribeVpnGateways {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		describeBy = append(describeBy, q.Get("VpnGatewayId"))
		if q.Get("PageNumber") == "1" && q.Get("VpnGatewayId") == "" && victim != "" && !deleted {
			if err := sim.Delete(victim); err != nil {
				t.Errorf("delete the victim: %v", err)
			}
			deleted = true
		}
	}))
	t.Cleanup(hook.Close)
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_VPC_ENDPOINT": hook.URL}), apptest.WithEmulator(vpcsim.WithGatewayQuota(100)))
	sim = s.API

	// The tracked request's gateway is the oldest, so the last listed.
	resp, err := s.provision(requestEvent("shift-0", validData()))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].State != store.Pending {
		t.Fatalf("provision: %+v, %v", resp, err)
	}
	tracked := resp.Results[0].VpnGatewayId

	// A full page of gateways made elsewhere in the same VPC, after it.
	other, err := vpcclient.New(vpcclient.Config{Endpoint: hook.URL, Rates: map[string]float64{},
		Credentials: cloud.Credentials{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret}})
	if err != nil {
		t.Fatal(err)
	}
	var r events.GatewayRequest
	b, _ := json.Marshal(validData())
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for i := range cloud.MaxPageSize {
		r.Name = fmt.Sprintf("elsewhere-%02d", i)
		res, err := other.CreateVpnGateway(context.Background(), r, fmt.Sprintf("elsewhere-token-%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			mu.Lock()
			victim = res.VpnGatewayID // on page 1: every other one is newer
			mu.Unlock()
		}
	}

	s.Clock.Advance(3 * time.Minute) // active, and past the grace for a missing gateway
	rep := s.tick()
	mu.Lock()
	gotDeleted, calls := deleted, append([]string(nil), describeBy...)
	mu.Unlock()
	if !gotDeleted {
		t.Fatal("the victim was not deleted mid-listing; the test proves nothing")
	}
	if g, err := s.API.Gateway(tracked); err != nil || g.Status != "active" {
		t.Fatalf("the tracked gateway in the emulator: %+v, %v", g, err)
	}
	rec := s.ticketRecord("shift-0")
	if rec.State != store.Active {
		t.Fatalf("request settled %s (%s), want active: gateway %s exists and is active", rec.State, rec.LastError, tracked)
	}
	for _, e := range s.EventsOfType(events.TypeFailed) {
		t.Errorf("announced failed: %s", e.Data)
	}
	// Two pages, then the one missing gateway by id.
	if want := []string{"", "", tracked}; fmt.Sprint(calls) != fmt.Sprint(want) || rep.APICalls != 3 {
		t.Errorf("DescribeVpnGateways by VpnGatewayId %q (%d calls reported), want %q", calls, rep.APICalls, want)
	}
}

// TestReconcileGoneGatewayIsNotFound: a gateway really deleted is still
// announced NotFound, after the one call that confirms it.
func TestReconcileGoneGatewayIsNotFound(t *testing.T) {
	s := newStack(t)
	resp, err := s.provision(requestEvent("gone-0", validData()))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("provision: %+v, %v", resp, err)
	}
	if err := s.API.Delete(resp.Results[0].VpnGatewayId); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(3 * time.Minute)
	rep := s.tick()
	rec, err := s.App.Store.Get(context.Background(), requestKey("acs:eventbridge:tickets", "gone-0"))
	if err != nil || rec.State != store.Failed {
		t.Fatalf("record %+v, %v: want failed NotFound", rec, err)
	}
	failed := s.EventsOfType(events.TypeFailed)
	var data events.Failed
	if len(failed) != 1 || json.Unmarshal(failed[0].Data, &data) != nil || data.Code != events.CodeNotFound {
		t.Fatalf("failed events %+v, want one NotFound", failed)
	}
	if rep.APICalls != 2 {
		t.Errorf("%d DescribeVpnGateways calls, want 2: the listing, and the gateway by id", rep.APICalls)
	}
}

// TestReconcileUnconfirmableGatewayStillTimesOut: a gateway missing from
// the listing whose by-id lookup keeps failing is not announced NotFound
// (its absence is unconfirmed), but it does not stay pending for ever
// either: once the provisioning timeout has passed it fails Timeout, as a
// gateway still not active would.
func TestReconcileUnconfirmableGatewayStillTimesOut(t *testing.T) {
	var sim *vpcsim.Server
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("Action") == vpcclient.ActionDescribeVpnGateways && q.Get("VpnGatewayId") != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"RequestId":"0C5F1D7E-2C0B-4B2C-9E0A-1D2A3B4C5D6E","HostId":"vpc.aliyuncs.com","Code":"UnknownError","Message":"The request processing has failed due to some unknown error, exception or failure."}`)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(hook.Close)
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_VPC_ENDPOINT": hook.URL}))
	sim = s.API
	resp, err := s.provision(requestEvent("unconfirmable-0", validData()))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("provision: %+v, %v", resp, err)
	}
	if err := s.API.Delete(resp.Results[0].VpnGatewayId); err != nil {
		t.Fatal(err)
	}
	tick := func() reconcile.Report {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rep, _ := s.App.Reconcile.Tick(ctx, reconcile.Options{}) // the failed lookup is an error of the tick
		return rep
	}
	key := requestKey("acs:eventbridge:tickets", "unconfirmable-0")
	s.Clock.Advance(3 * time.Minute) // past the grace for a missing gateway
	if rep := tick(); rep.StillPending != 1 || rep.Failed != 0 {
		t.Fatalf("tick before the timeout: %+v, want the request still pending (its absence is unconfirmed)", rep)
	}
	s.Clock.Advance(30 * time.Minute) // past the provisioning timeout
	tick()
	rec, err := s.App.Store.Get(context.Background(), key)
	if err != nil || rec.State != store.Failed {
		t.Fatalf("record %s (%q), %v: want failed Timeout after the provisioning timeout", rec.State, rec.LastError, err)
	}
	failed := s.EventsOfType(events.TypeFailed)
	var data events.Failed
	if len(failed) != 1 || json.Unmarshal(failed[0].Data, &data) != nil || data.Code != events.CodeTimeout {
		t.Fatalf("failed events %+v, want one Timeout", failed)
	}
}
