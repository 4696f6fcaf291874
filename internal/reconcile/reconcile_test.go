package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// fakeAPI lists a fixed set of gateways, 50 a page, and records each call.
type fakeAPI struct {
	mu    sync.Mutex
	gws   []cloud.Gateway
	calls []string
	err   error
}

func (f *fakeAPI) DescribeVpnGateways(_ context.Context, region string, flt cloud.Filter, page, size int) (cloud.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s vpc=%s page=%d size=%d", region, flt.VpcId, page, size))
	if f.err != nil {
		return cloud.Page{}, f.err
	}
	var match []cloud.Gateway
	for _, g := range f.gws {
		if g.RegionId == region && (flt.VpcId == "" || g.VpcId == flt.VpcId) {
			match = append(match, g)
		}
	}
	from := min((page-1)*size, len(match))
	to := min(from+size, len(match))
	return cloud.Page{Gateways: match[from:to], TotalCount: len(match), PageNumber: page, PageSize: size}, nil
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pending records a request CreateVpnGateway accepted at t0.
func pending(t *testing.T, s store.Store, n int, region, vpc, gw string) {
	t.Helper()
	key := fmt.Sprintf("k-%s-%04d", region, n)
	r := store.Request{Key: key, Source: "src", EventID: key, ClientToken: key, RegionID: region, VpcID: vpc,
		Params: []byte("{}"), State: store.Received, CreatedAt: t0, UpdatedAt: t0}
	if _, _, err := s.Insert(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(context.Background(), key, []store.State{store.Received}, store.Pending, "",
		store.Change{GatewayID: gw, AcceptedAt: t0}, nil); err != nil {
		t.Fatal(err)
	}
}

func gateways(region, vpc string, n int, status string) []cloud.Gateway {
	var out []cloud.Gateway
	for i := range n {
		out = append(out, cloud.Gateway{VpnGatewayId: fmt.Sprintf("vpn-%s-%s-%04d", region, vpc, i), RegionId: region, VpcId: vpc, Status: status, BusinessStatus: "Normal"})
	}
	return out
}

func tick(t *testing.T, s store.Store, api *fakeAPI, now time.Time) reconcile.Report {
	t.Helper()
	svc, err := reconcile.New(s, api, reconcile.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := svc.Tick(context.Background(), reconcile.Options{})
	return rep
}

// Two pending gateways settle in two listing calls; firstCall is the first.
// Paging stops as soon as every pending gateway of the region was seen, one
// VPC narrows the listing, and gateways in several VPCs of a region share
// one region-wide listing.
func TestListingCalls(t *testing.T) {
	for _, tc := range []struct {
		name      string
		gws       []cloud.Gateway
		pending   [2][2]string // VPC, gateway id
		firstCall string
	}{
		{"paging stops when every pending gateway is seen", gateways("cn-hangzhou", "vpc-a", 120, "active"),
			[2][2]string{{"vpc-a", "vpn-cn-hangzhou-vpc-a-0003"}, {"vpc-a", "vpn-cn-hangzhou-vpc-a-0060"}},
			"cn-hangzhou vpc=vpc-a page=1 size=50"},
		{"several VPCs share one listing", append(gateways("cn-hangzhou", "vpc-a", 30, "active"), gateways("cn-hangzhou", "vpc-b", 30, "active")...),
			[2][2]string{{"vpc-a", "vpn-cn-hangzhou-vpc-a-0001"}, {"vpc-b", "vpn-cn-hangzhou-vpc-b-0029"}},
			"cn-hangzhou vpc= page=1 size=50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			api := &fakeAPI{gws: tc.gws}
			for i, p := range tc.pending {
				pending(t, s, i, "cn-hangzhou", p[0], p[1])
			}
			rep := tick(t, s, api, t0.Add(time.Minute))
			if rep.Active != 2 || len(api.calls) != 2 || api.calls[0] != tc.firstCall {
				t.Fatalf("report %+v, calls %v; want 2 active in 2 calls, the first %q", rep, api.calls, tc.firstCall)
			}
		})
	}
}

// A gateway missing from a complete listing is not declared gone until the
// grace after acceptance has passed (the API's lists may lag a creation).
func TestNotFoundWaitsForTheGrace(t *testing.T) {
	s := openStore(t)
	api := &fakeAPI{gws: gateways("cn-hangzhou", "vpc-a", 3, "active")}
	pending(t, s, 0, "cn-hangzhou", "vpc-a", "vpn-gone")
	if rep := tick(t, s, api, t0.Add(10*time.Second)); rep.Failed != 0 || rep.StillPending != 1 {
		t.Fatalf("within the grace: %+v", rep)
	}
	if rep := tick(t, s, api, t0.Add(2*time.Minute)); rep.Failed != 1 {
		t.Fatalf("after the grace: %+v", rep)
	}
	got, _ := s.Get(context.Background(), "k-cn-hangzhou-0000")
	if got.State != store.Failed || got.LastError == "" {
		t.Fatalf("record %+v, want failed with the reason", got)
	}
}

// A failed listing settles nothing, releases the claims at once, and says why.
func TestDescribeFailureReleasesTheClaims(t *testing.T) {
	s := openStore(t)
	api := &fakeAPI{err: errors.New("Throttling.User")}
	pending(t, s, 0, "cn-hangzhou", "vpc-a", "vpn-x")
	rep := tick(t, s, api, t0.Add(time.Minute))
	if len(rep.Errors) != 1 || rep.Active+rep.Failed != 0 {
		t.Fatalf("report %+v", rep)
	}
	api.err = nil
	api.gws = []cloud.Gateway{{VpnGatewayId: "vpn-x", RegionId: "cn-hangzhou", VpcId: "vpc-a", Status: "active"}}
	if rep := tick(t, s, api, t0.Add(time.Minute)); rep.Active != 1 {
		t.Fatalf("next tick, same instant: %+v; the lease should have been released", rep)
	}
}

// A tick whose deadline is already near claims nothing.
func TestNearDeadlineClaimsNothing(t *testing.T) {
	s := openStore(t)
	api := &fakeAPI{}
	pending(t, s, 0, "cn-hangzhou", "vpc-a", "vpn-x")
	svc, _ := reconcile.New(s, api, reconcile.WithClock(func() time.Time { return t0 }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rep, _ := svc.Tick(ctx, reconcile.Options{})
	if rep.Claimed != 0 || rep.Stopped != "deadline near" || len(api.calls) != 0 {
		t.Fatalf("report %+v, calls %v", rep, api.calls)
	}
}
