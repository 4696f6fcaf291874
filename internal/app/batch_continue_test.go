package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// A batch whose invocation's deadline came before its items were created
// is continued by the next reconcile tick at once, without waiting
// VPNGW_REDRIVE_AFTER (the clock does not move here), and every item is
// created once. While an invocation holds the batch, the tick leaves it.
func TestBatchLeftByTheDeadlineIsContinuedByTheNextTick(t *testing.T) {
	s := newStack(t)
	var items []map[string]any
	for i := range 12 {
		d := validData()
		d["Name"] = fmt.Sprintf("continued-%02d", i)
		items = append(items, d)
	}
	payload := batchEvent("continued-batch", items)
	// An invocation with less time left than the provision reserve records
	// the batch and its items and creates none of them.
	if _, err := provisionOn(s.App, time.Second, payload); err == nil {
		t.Fatal("an invocation that created nothing must ask to be delivered again")
	}
	if n := len(s.API.Gateways()); n != 0 {
		t.Fatalf("%d gateways before the tick, want 0", n)
	}
	batchKey := requestKey("/batch/nightly", "continued-batch")

	// Another invocation holds the batch: the tick leaves it alone.
	if ok, err := s.App.Store.Hold(t.Context(), batchKey, "provision-other", s.Now(), s.Now().Add(time.Minute)); err != nil || !ok {
		t.Fatalf("hold: %t %v", ok, err)
	}
	if rep := s.tick(); len(s.API.Gateways()) != 0 {
		t.Fatalf("tick while another invocation holds the batch: %+v, %d gateways, want none", rep, len(s.API.Gateways()))
	}
	if err := s.App.Store.Release(t.Context(), "provision-other", []string{batchKey}); err != nil {
		t.Fatal(err)
	}

	rep, err := s.App.Reconcile.Tick(t.Context(), reconcile.Options{})
	if err != nil {
		t.Fatalf("tick: %v", err)
	}
	gws := s.API.Gateways()
	if len(gws) != len(items) {
		t.Fatalf("tick %+v left %d gateways, want all %d items created at once", rep, len(gws), len(items))
	}
	oneGatewayPerToken(t, gws)
	// A late redelivery of the batch creates nothing more.
	if _, err := s.provision(payload); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if n := len(s.API.Gateways()); n != len(items) {
		t.Fatalf("%d gateways after the redelivery, want %d", n, len(items))
	}
	rec, err := s.App.Store.Get(t.Context(), batchKey)
	if err != nil || rec.State != store.Batch {
		t.Fatalf("batch record %+v %v, want still open until its items are active", rec.State, err)
	}
}

// A batch an invocation leaves while a tick keeps checking a pending gateway
// is continued by that tick within its claim interval, not held back until
// the tick stops checking near its deadline.
func TestBatchIsContinuedWhileATickKeepsChecking(t *testing.T) {
	s := newStack(t, apptest.WithWallClock(), apptest.WithReconcileTimer())
	if err := s.API.SetProvisioningDelay(vpcsim.DelayRange{Min: vpcsim.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	one := validData()
	one["Name"] = "still-pending"
	if _, err := s.provision(requestEvent("evt-pending", one)); err != nil {
		t.Fatal(err)
	}
	stopTick := s.tickInBackground(60 * time.Second)

	items := s.batchLeftByTheDeadline("while-checking", 4)
	// The tick claims every 2 s; give it rounds enough on a loaded
	// machine, and still far less than the 55 s it keeps checking the
	// pending gateway, when the checking ends and only then did it go on.
	deadline := time.Now().Add(25 * time.Second)
	for len(s.API.Gateways()) < 1+len(items) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	n := len(s.API.Gateways())
	rep := stopTick()
	if n != 1+len(items) {
		t.Fatalf("25 s into a tick that keeps checking, %d gateways, want the pending one and all %d items (tick %+v)", n, len(items), rep)
	}
}

// Ticks overlap (the reconcile timeout outlasts the timer's period): a
// tick with nothing pending, started while an older invocation holds a
// batch in progress whose hold ends before this tick's own end, stays and
// continues the batch the moment the hold is handed back, instead of
// ending at once and leaving the batch to the timer's next tick a minute
// later.
func TestTickStaysForABatchHeldElsewhereAndTakesItOver(t *testing.T) {
	s := newStack(t, apptest.WithWallClock(), apptest.WithReconcileTimer())
	items := s.batchLeftByTheDeadline("handed-over", 4)
	batchKey := requestKey("/batch/nightly", "handed-over")
	// The older invocation holds the batch until shortly after its own
	// deadline, 30 s from now; this tick's invocation runs 60 s.
	if ok, err := s.App.Store.Hold(t.Context(), batchKey, "tick-older", time.Now(), time.Now().Add(30*time.Second)); err != nil || !ok {
		t.Fatalf("hold: %t %v", ok, err)
	}
	stopTick := s.tickInBackground(60 * time.Second)
	// The older invocation stops creating and hands the batch back.
	time.Sleep(3 * time.Second)
	if n := len(s.API.Gateways()); n != 0 {
		t.Fatalf("%d gateways while the older invocation held the batch, want 0", n)
	}
	if err := s.App.Store.Release(t.Context(), "tick-older", []string{batchKey}); err != nil {
		t.Fatal(err)
	}
	// The tick claims every 2 s; give a loaded machine room, still well
	// before the hold would have ended by itself.
	deadline := time.Now().Add(20 * time.Second)
	for len(s.API.Gateways()) < len(items) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	n := len(s.API.Gateways())
	rep := stopTick()
	if n != len(items) {
		t.Fatalf("20 s after the hold was handed back, %d gateways, want all %d items (tick %+v)", n, len(items), rep)
	}
}

// batchLeftByTheDeadline sends a batch of n items named id-NN to a provision
// invocation with less time left than its reserve: it records the batch
// and its items, creates none of them and asks to be delivered again.
func (s *stack) batchLeftByTheDeadline(id string, n int) []map[string]any {
	s.t.Helper()
	var items []map[string]any
	for i := range n {
		d := validData()
		d["Name"] = fmt.Sprintf("%s-%02d", id, i)
		items = append(items, d)
	}
	if _, err := provisionOn(s.App, time.Second, batchEvent(id, items)); err == nil {
		s.t.Fatal("an invocation that created nothing must ask to be delivered again")
	}
	return items
}

// tickInBackground starts a reconcile tick in an invocation of d; the
// returned function ends the invocation and returns the tick's report.
func (s *stack) tickInBackground(d time.Duration) (stop func() reconcile.Report) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	s.t.Cleanup(cancel)
	ticked := make(chan reconcile.Report, 1)
	go func() {
		rep, _ := s.App.Reconcile.Tick(ctx, reconcile.Options{})
		ticked <- rep
	}()
	return func() reconcile.Report {
		cancel()
		return <-ticked
	}
}

// A tick with nothing pending does not stay for a batch whose hold ends
// too close to the tick's own end to continue it (a holder killed at its
// deadline hands nothing back): staying would bill the whole invocation
// and create nothing.
func TestTickDoesNotStayForAHoldEndingNearItsEnd(t *testing.T) {
	s := newStack(t, apptest.WithWallClock(), apptest.WithReconcileTimer())
	s.batchLeftByTheDeadline("late-hold", 4)
	batchKey := requestKey("/batch/nightly", "late-hold")
	// The tick's end is its deadline less the 5 s it keeps back: 15 s
	// from now. The hold ends a second before that.
	const invocation = 20 * time.Second
	holdEnd := time.Now().Add(invocation - 6*time.Second)
	if ok, err := s.App.Store.Hold(t.Context(), batchKey, "killed-holder", time.Now(), holdEnd); err != nil || !ok {
		t.Fatalf("hold: %t %v", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), invocation)
	defer cancel()
	start := time.Now()
	rep, err := s.App.Reconcile.Tick(ctx, reconcile.Options{})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// A tick that stayed for the hold is still there when it ends; an
	// idle tick ends long before, however loaded the machine (a fixed
	// bound of a few seconds here only measured the machine).
	if !time.Now().Before(holdEnd) {
		t.Fatalf("a tick with nothing to do stayed %v, past the end of a hold that ends a second before its own end (report %+v)", took.Round(time.Second), rep)
	}
}
