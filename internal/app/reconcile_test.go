package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

func (s *stack) tick() reconcile.Report {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := s.App.Reconcile.Tick(ctx, reconcile.Options{})
	if err != nil {
		s.t.Fatalf("tick: %v (%+v)", err, rep)
	}
	return rep
}

func TestReconcileAnnouncesActiveOnce(t *testing.T) {
	s := newStack(t)
	gw := s.createdGateway("evt-r1")
	if rep := s.tick(); rep.Active != 0 || rep.StillPending != 1 {
		t.Fatalf("tick before the gateway is ready: %+v", rep)
	}
	s.Clock.Advance(3 * time.Minute)
	if rep := s.tick(); rep.Active != 1 || rep.APICalls != 1 {
		t.Fatalf("tick after: %+v, want 1 active in 1 call", rep)
	}
	if rep := s.tick(); rep.Claimed != 0 {
		t.Fatalf("a settled request was claimed again: %+v", rep)
	}
	act := s.EventsOfType(events.TypeActive)
	if len(act) != 1 || act[0].Subject != gw {
		t.Fatalf("active events %+v, want one for %s", act, gw)
	}
	// The request's trace context reaches the event reconcile writes, as it
	// reaches provision's.
	const trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if acc := s.EventsOfType(events.TypeAccepted); len(acc) != 1 || acc[0].TraceParent != trace || act[0].TraceParent != trace {
		t.Fatalf("traceparent on accepted %+v and active %q, want %s on both", acc, act[0].TraceParent, trace)
	}
	var data events.Active
	if err := json.Unmarshal(act[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.VpnGatewayId != gw || data.Status != "active" || data.InternetIp == "" || data.Bandwidth != 10 ||
		data.OrderId == 0 || data.Request.EventID != "evt-r1" || data.RegionId != "cn-hangzhou" {
		t.Fatalf("active data = %+v", data)
	}
}

func TestReconcileFailures(t *testing.T) {
	// Gateways here never become active within the provisioning timeout.
	s := newStack(t, apptest.WithEmulator(vpcsim.WithProvisioningDelay(2*time.Hour)))
	var gws []string
	for i := range 3 {
		gws = append(gws, s.createdGateway(fmt.Sprintf("evt-f%d", i)))
	}
	if err := s.API.SetBusinessStatus(gws[0], "FinancialLocked"); err != nil {
		t.Fatal(err)
	}
	if err := s.API.Delete(gws[1]); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(31 * time.Minute)
	rep := s.tick()
	if rep.Failed != 3 {
		t.Fatalf("tick: %+v, want 3 failed", rep)
	}
	codes := map[string]string{}
	for _, e := range s.EventsOfType(events.TypeFailed) {
		var d events.Failed
		_ = json.Unmarshal(e.Data, &d)
		if d.Stage != events.StageProvisioning {
			t.Errorf("stage %q, want provisioning", d.Stage)
		}
		codes[d.VpnGatewayId] = d.Code
		// Failed is final: the message says what the account owner does,
		// never to re-drive a request that will not be re-driven.
		if d.Code == events.CodeFinancialLocked {
			for _, w := range []string{"account owner", "overdue payment", d.VpnGatewayId, "new id"} {
				if !strings.Contains(d.Message, w) {
					t.Errorf("FinancialLocked message %q does not say %q", d.Message, w)
				}
			}
			if strings.Contains(d.Message, "re-drive") {
				t.Errorf("FinancialLocked message %q says to re-drive a failed request", d.Message)
			}
		}
	}
	want := map[string]string{gws[0]: events.CodeFinancialLocked, gws[1]: events.CodeNotFound, gws[2]: events.CodeTimeout}
	for id, code := range want {
		if codes[id] != code {
			t.Errorf("gateway %s: code %q, want %q", id, codes[id], code)
		}
	}
}

// 500 pending gateways in one region are checked in at most 10
// DescribeVpnGateways calls, counted by the emulator.
func TestReconcile500PendingInTenCalls(t *testing.T) {
	s := newStack(t)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range 500 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.provision(requestEvent(fmt.Sprintf("evt-bulk-%03d", i), validData())); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s.Clock.Advance(3 * time.Minute)
	before := s.API.Calls("DescribeVpnGateways")
	rep := s.tick()
	calls := s.API.Calls("DescribeVpnGateways") - before
	t.Logf("500 pending: %d DescribeVpnGateways calls (tick counted %d), %d active", calls, rep.APICalls, rep.Active)
	if rep.Active != 500 {
		t.Fatalf("tick: %+v, want 500 active", rep)
	}
	if calls > 10 || calls != rep.APICalls {
		t.Fatalf("%d DescribeVpnGateways calls (tick says %d), want at most 10", calls, rep.APICalls)
	}
	if n := len(s.EventsOfType(events.TypeActive)); n != 500 {
		t.Fatalf("%d active events, want 500", n)
	}
}

// Overlapping ticks never settle a gateway twice, and never under two ids.
func TestReconcileOverlappingTicks(t *testing.T) {
	s := newStack(t)
	for i := range 60 {
		if _, err := s.provision(requestEvent(fmt.Sprintf("evt-ov-%02d", i), validData())); err != nil {
			t.Fatal(err)
		}
	}
	s.Clock.Advance(3 * time.Minute)
	var wg sync.WaitGroup
	reps := make([]reconcile.Report, 4)
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i] = s.tick()
		}()
	}
	wg.Wait()
	total := 0
	for _, r := range reps {
		total += r.Active
	}
	if total != 60 {
		t.Fatalf("ticks settled %d in all, want 60: %+v", total, reps)
	}
	s.Events(120) // wait for the 60 accepted and 60 active to arrive
	ids := map[string]string{}
	for _, e := range s.EventsOfType(events.TypeActive) {
		if prev, ok := ids[e.Subject]; ok && prev != e.ID {
			t.Fatalf("gateway %s announced under two ids %s and %s", e.Subject, prev, e.ID)
		}
		ids[e.Subject] = e.ID
	}
	if len(ids) != 60 {
		t.Fatalf("%d gateways announced, want 60", len(ids))
	}
}

// A request recorded but never settled (the function died after recording,
// and no redelivery came) is re-driven by a tick with the same ClientToken.
func TestReconcileRedrivesStuckRequests(t *testing.T) {
	s := newStack(t)
	now := s.Clock.Now()
	rec := store.Request{
		Key: requestKey("src", "stuck-1"), Source: "src", EventID: "stuck-1", ClientToken: "vpngw-stuck-token-1",
		RegionID: "cn-hangzhou", VpcID: "vpc-bp1vpngwdemo0000001", State: store.Received, CreatedAt: now, UpdatedAt: now,
	}
	rec.Params, _ = json.Marshal(validData())
	if _, _, err := s.App.Store.Insert(context.Background(), rec, nil); err != nil {
		t.Fatal(err)
	}
	if rep := s.tick(); rep.Redriven != 0 {
		t.Fatalf("a fresh Received request was re-driven: %+v", rep)
	}
	s.Clock.Advance(3 * time.Minute)
	if rep := s.tick(); rep.Redriven != 1 {
		t.Fatalf("tick: %+v, want 1 re-driven", rep)
	}
	got, err := s.App.Store.Get(context.Background(), rec.Key)
	if err != nil || got.State != store.Pending || got.GatewayID == "" {
		t.Fatalf("after redrive: %+v %v", got, err)
	}
	if n := len(s.API.Gateways()); n != 1 {
		t.Fatalf("%d gateways, want 1", n)
	}
}

// With the broker down, outcomes wait in the outbox; the invocation still
// succeeds; once the broker is back, the next tick publishes them, in order,
// under their ids, and nothing is lost.
func TestBrokerDownLosesNothing(t *testing.T) {
	s := newStack(t)
	s.StopBroker()
	for i := range 3 {
		if _, err := s.provision(requestEvent(fmt.Sprintf("evt-down-%d", i), validData())); err != nil {
			t.Fatalf("provision with the broker down: %v", err)
		}
	}
	unsent, err := s.App.Store.Unsent(context.Background(), 100)
	if err != nil || len(unsent) != 3 {
		t.Fatalf("outbox holds %d events (%v), want the 3 accepted", len(unsent), err)
	}
	s.Clock.Advance(3 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	rep, err := s.App.Reconcile.Tick(ctx, reconcile.Options{})
	cancel()
	if err == nil || rep.Active != 3 || rep.Published != 0 {
		t.Fatalf("tick with the broker down: %+v, %v; want 3 settled, none published, an error", rep, err)
	}
	s.StartBroker()
	var published int
	for range 50 { // the publisher reconnects on its own
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rep, _ := s.App.Reconcile.Tick(ctx, reconcile.Options{})
		cancel()
		if published += rep.Published; published == 6 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A plain subscriber misses what was published while it reconnected;
	// the stream holds everything.
	got := s.StreamEvents()
	if len(got) != 6 {
		t.Fatalf("stream holds %d events, want 3 accepted + 3 active: %+v", len(got), got)
	}
	// Per request, accepted comes before active.
	seen := map[string]string{}
	for _, e := range got {
		if e.Type == events.TypeActive && seen[e.Subject] != events.TypeAccepted {
			t.Fatalf("active for %s arrived before its accepted", e.Subject)
		}
		seen[e.Subject] = e.Type
	}
}
