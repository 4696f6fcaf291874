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

// leaseMargin is reconcile's: a tick's claim leases a request for the time
// its invocation has left and this much more, never longer.
const leaseMargin = 2 * time.Second

// settleMargin is how long, once the interrupted tick's leases ended, the
// next ticks may take to settle its requests. Each of those ticks is
// wall-clock work (for the killed instance, its restart too: exec, opening
// the store, dialling the broker; then a claim, a DescribeVpnGateways call,
// five recorded transitions, a drain) that a loaded machine stretches to
// seconds, so the margin is generous; it still ends well inside the two
// minutes a claim would hold the requests if its lease did not end with
// the invocation, so ticks that cannot take them up still fail the test.
const settleMargin = 60 * time.Second

// settleAfterLeases checks what an interrupted tick left and waits for its
// requests to be settled. The n pending requests must be leased (claimed
// by the tick) until deadline plus leaseMargin at the latest, deadline
// being the latest the interrupted invocation's deadline can be; then
// ticks run (through tick) until nothing is pending, for at most
// settleMargin after that latest end of the leases: a bound taken from the
// deadline, not from the leases read, so that it holds on its own.
func settleAfterLeases(t *testing.T, h *harness, n int, deadline time.Time, tick func(ctx context.Context) error) {
	t.Helper()
	left, err := h.store.List(context.Background(), sqlstore.ListFilter{States: []store.State{store.Pending}, Limit: n + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != n {
		t.Fatalf("%d requests pending after the interrupted tick, want the %d it claimed", len(left), n)
	}
	var leaseEnd time.Time
	for _, r := range left {
		switch {
		case r.LeaseOwner == "":
			t.Fatalf("request %s is not leased after the interrupted tick: the tick did not claim it, so the test shows nothing", r.Key)
		case r.LeaseUntil.After(deadline.Add(leaseMargin)):
			t.Fatalf("the interrupted tick leased %s until %s, %s past its invocation's deadline (%s at the latest); want at most %s past it",
				r.Key, r.LeaseUntil.Format(time.RFC3339Nano), r.LeaseUntil.Sub(deadline).Round(time.Millisecond), deadline.Format(time.RFC3339Nano), leaseMargin)
		}
		if r.LeaseUntil.After(leaseEnd) {
			leaseEnd = r.LeaseUntil
		}
	}
	bound := deadline.Add(leaseMargin + settleMargin)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), reconcileTimeout+3*time.Second)
		err := tick(ctx)
		n, cerr := h.store.Count(ctx, store.Pending)
		cancel()
		if cerr == nil && n == 0 {
			t.Logf("settled %s after the interrupted tick's leases ended", time.Since(leaseEnd).Round(time.Millisecond))
			return
		}
		if time.Now().After(bound) {
			left, _ := h.store.List(context.Background(), sqlstore.ListFilter{States: []store.State{store.Pending}, Limit: 3})
			var leases []string
			for _, r := range left {
				leases = append(leases, r.LeaseOwner+" until "+r.LeaseUntil.Format(time.RFC3339)+" (in "+time.Until(r.LeaseUntil).Round(time.Second).String()+")")
			}
			sort.Strings(leases)
			t.Fatalf("%d requests still pending %s after the interrupted invocation's deadline, whose leases ended %s after it at the latest (last tick: %v); they are leased: %v",
				n, time.Since(deadline).Round(time.Second), leaseMargin, err, leases)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// A reconcile tick claims pending requests with a lease before asking the
// API about them. When its invocation ends early (the instance is killed,
// or the deadline passes while the API is slow), the lease is all that is
// left of it, and no other tick may take those requests until it expires.
// The configured lease is two minutes, but a claim's lease ends with the
// invocation (its deadline and reconcile's leaseMargin), so that one
// interrupted tick does not hold what it claimed for two minutes. These
// tests check the leases the interrupted tick left against its deadline,
// then that the next ticks settle the requests once the leases end.
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
		settleAfterLeases(t, h, 5, deadline, func(ctx context.Context) error {
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
		// The killed invocation's deadline was its timeout after the
		// instance took it, which was before the kill.
		settleAfterLeases(t, h, 5, killedAt.Add(killedTimeout), func(ctx context.Context) error {
			return rec.invoke(ctx, timer, reconcileTimeout)
		})
	})
}
