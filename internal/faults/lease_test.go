package faults

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// pendingRequests provisions n valid requests through app instance 0 and
// waits until their gateways are active in the emulator, so that the next
// tick that looks at them settles them.
func pendingRequests(t *testing.T, h *harness, n int) []planned {
	t.Helper()
	var batch []map[string]any
	var out []planned
	for _, p := range h.plan {
		if p.Kind == valid && len(out) < n {
			batch = append(batch, p.Event)
			out = append(out, p)
		}
	}
	body, err := json.Marshal(batch)
	if err != nil {
		t.Fatal(err)
	}
	a := h.newApps(1)[0]
	ctx, cancel := context.WithTimeout(context.Background(), provisionTimeout)
	defer cancel()
	if _, err := a.ProvisionHandler()(ctx, body); err != nil {
		t.Fatal(err)
	}
	if c, err := h.store.Count(ctx, store.Pending); err != nil || c != n {
		t.Fatalf("%d pending after provisioning (%v), want %d", c, err, n)
	}
	time.Sleep(2 * provisioningDelay)
	return out
}

// settleWithin runs reconcile ticks (through tick) until nothing is pending
// or the bound passes, and reports what is left.
func settleWithin(t *testing.T, h *harness, bound time.Duration, tick func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), reconcileTimeout+3*time.Second)
		err := tick(ctx)
		n, cerr := h.store.Count(ctx, store.Pending)
		cancel()
		if cerr == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			left, _ := h.store.List(context.Background(), sqlstore.ListFilter{States: []store.State{store.Pending}, Limit: 3})
			var leases []string
			for _, r := range left {
				leases = append(leases, r.LeaseOwner+" until "+r.LeaseUntil.Format(time.RFC3339)+" (in "+time.Until(r.LeaseUntil).Round(time.Second).String()+")")
			}
			sort.Strings(leases)
			t.Fatalf("%d requests still pending %s after the interrupted tick (last tick: %v); they are leased: %v", n, bound, err, leases)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// A reconcile tick claims pending requests with a lease before asking the
// API about them. When its invocation ends early (the instance is killed,
// or the deadline passes while the API is slow), the lease is all that is
// left of it, and no other tick may take those requests until it expires.
// The lease is two minutes whatever the invocation's timeout, so one
// interrupted tick holds every request it claimed for two minutes. These
// tests expect a request to be picked up again soon after the interrupted
// invocation's own deadline.
func TestInterruptedTickReleasesItsRequestsWithItsDeadline(t *testing.T) {
	t.Run("tick cancelled while asking the API", func(t *testing.T) {
		h := newHarness(t, scenario{name: "lease-cancel"}, size{requests: 20, seed: 1, settle: time.Minute}, "sqlite")
		pendingRequests(t, h, 5)
		a := h.newApps(1)[0]
		// The invocation ends (its context is cancelled, as when the
		// instance shuts down) while the tick waits for the API, that is
		// after it claimed the requests.
		tickTimeout := 6 * time.Second // past the tick's 5 s reserve, so it claims
		ctx, cancel := context.WithTimeout(context.Background(), tickTimeout)
		deadline, _ := ctx.Deadline()
		h.api.setHook(func(action string) {
			if action == "DescribeVpnGateways" {
				cancel()
			}
		})
		h.api.sim.SetFaults(vpcsim.Faults{Latency: time.Second})
		rep, err := a.Reconcile.Tick(ctx, reconcile.Options{})
		cancel()
		if err == nil || rep.Claimed != 5 {
			t.Fatalf("cancelled tick: %+v, %v; want 5 claimed and an error", rep, err)
		}
		h.api.setHook(nil)
		h.api.sim.SetFaults(vpcsim.Faults{})
		settleWithin(t, h, time.Until(deadline.Add(5*time.Second)), func(ctx context.Context) error {
			_, err := a.Reconcile.Tick(ctx, reconcile.Options{})
			return err
		})
	})

	t.Run("reconcile instance killed mid-tick", func(t *testing.T) {
		h := newHarness(t, scenario{name: "lease-kill"}, size{requests: 20, seed: 2, settle: time.Minute}, "sqlite")
		pendingRequests(t, h, 5)
		bin := apptest.BuildFunction(t, t.TempDir(), "reconcile")
		rec := startProc(t, "reconcile-1", bin, h.stack.Environ(), t.TempDir())

		// Kill the instance while its tick waits for DescribeVpnGateways,
		// that is after it claimed the requests.
		asked := make(chan struct{}, 1)
		h.api.setHook(func(action string) {
			if action == "DescribeVpnGateways" {
				select {
				case asked <- struct{}{}:
				default:
				}
			}
		})
		h.api.sim.SetFaults(vpcsim.Faults{Latency: 2 * time.Second})
		timer := []byte(`{"triggerTime":"2026-11-25T10:00:00Z","triggerName":"reconcile","payload":""}`)
		// The shortest timeout with which a tick still claims (it keeps 5 s
		// in reserve).
		killedTimeout := 6 * time.Second
		done := make(chan error, 1)
		go func() { done <- rec.invoke(context.Background(), timer, killedTimeout) }()
		select {
		case <-asked:
		case err := <-done:
			t.Fatalf("the tick ended before asking the API: %v", err)
		case <-time.After(killedTimeout):
			t.Fatal("the tick never asked the API")
		}
		if err := rec.Kill(); err != nil {
			t.Fatal(err)
		}
		killedAt := time.Now()
		h.api.setHook(nil)
		h.api.sim.SetFaults(vpcsim.Faults{})
		// The killed invocation could not have lasted beyond its timeout;
		// allow that and a few ticks more.
		settleWithin(t, h, time.Until(killedAt.Add(killedTimeout+5*time.Second)), func(ctx context.Context) error {
			return rec.invoke(ctx, timer, reconcileTimeout)
		})
	})
}
