package reconcile_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// slowBatch stands for provision's FinishBatch continuing a batch at the
// CreateVpnGateway quota: its first call creates the remaining items for
// takes of the clock, or until the invocation has only its reserve left;
// later calls find nothing left to create and return at once, the items
// being pending. It notes any call made while another for the same batch
// still runs.
type slowBatch struct {
	clk     *testclock.Clock
	takes   time.Duration
	reserve time.Duration

	mu       sync.Mutex
	calls    int
	running  map[string]int
	overlap  bool
	from, to time.Time // the first call's start and end, on the clock
}

func (b *slowBatch) FinishBatch(ctx context.Context, batch store.Request, _ string) (bool, error) {
	b.mu.Lock()
	b.calls++
	first := b.calls == 1
	if b.running[batch.Key]++; b.running[batch.Key] > 1 {
		b.overlap = true
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.running[batch.Key]--
		b.mu.Unlock()
	}()
	if !first {
		return false, nil
	}
	from := b.clk.Now()
	dl, _ := ctx.Deadline()
	left := func() time.Duration { return time.Duration(float64(time.Until(dl)) * b.clk.Speed()) }
	for b.clk.Now().Sub(from) < b.takes && left() > b.reserve {
		// One item a second.
		if err := b.clk.Sleep(ctx, time.Second); err != nil {
			break
		}
	}
	b.mu.Lock()
	b.from, b.to = from, b.clk.Now()
	b.mu.Unlock()
	return false, nil
}

// announcer is the outbox: the first drain after key was recorded Active
// is when its outcome is announced.
type announcer struct {
	clk *testclock.Clock
	st  *sqlstore.Store
	key string

	mu sync.Mutex
	at time.Time
}

func (a *announcer) Drain(ctx context.Context) (outbox.Report, error) {
	r, err := a.st.Get(ctx, a.key)
	if err != nil || r.State != store.Active {
		return outbox.Report{}, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at.IsZero() {
		a.at = a.clk.Now()
		return outbox.Report{Published: 1}, nil
	}
	return outbox.Report{}, nil
}

func (a *announcer) Held(context.Context) (int, error)    { return 0, nil }
func (a *announcer) Reoffer(context.Context) (int, error) { return 0, nil }

// A tick that continues a batch for most of its invocation (creating the
// items left at the CreateVpnGateway quota) keeps checking the gateway it
// holds on the schedule meanwhile: a gateway that turns active 20 s into
// the tick is announced within the schedule's longest interval for a lone
// gateway (Alone, 9 s; by its age it is checked every 2.5 s) plus 3 s to
// record and publish it, not once the batch is done, about 85 s later. The
// batch is left either before the tick starts or while it checks (a
// provision invocation's deadline came first). The batch is continued by
// one call at a time, nothing stays leased after the tick, and the checks
// keep to their share of the quota (the emulator throttles beyond the
// documented 600 a minute, which would be an error of the tick). On a
// clock ten times as fast as the wall clock, so that the 120 s invocation
// the function has takes 12 s.
func TestTickChecksItsGatewaysWhileItContinuesABatch(t *testing.T) {
	const (
		speed      = 10
		invocation = 120 * time.Second // the reconcile function's timeout
		activeAt   = 20 * time.Second  // the gateway turns active, from the tick's start
		batchTakes = 100 * time.Second // the items left, at the quota
		margin     = 3 * time.Second   // to record and publish the outcome
	)
	bound := reconcile.DefaultSchedule.Alone + margin
	for _, c := range []struct {
		name string
		left time.Duration // when the batch is left, from the tick's start (<0: before)
	}{
		{"batch left before the tick", -time.Second},
		{"batch left while the tick checks", 5 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := testclock.NewRunning(t0, speed)
			sim, api, st := emulatedWorld(t, clk, vpcsim.WithRandSeed(5))
			if err := sim.SetProvisioningDelay(vpcsim.DelayRange{Min: vpcsim.Duration(activeAt)}); err != nil {
				t.Fatal(err)
			}
			w := &loneWorld{t: t, clk: clk, sim: sim, api: api, st: st}
			key, id := w.create()
			an := &announcer{clk: clk, st: st, key: key}
			fb := &slowBatch{clk: clk, takes: batchTakes, reserve: 5 * time.Second, running: map[string]int{}}
			svc, err := reconcile.New(st, &describeLog{api: api, clk: clk}, reconcile.WithClock(clk.Now), reconcile.WithTimer(clk.Sleep, clk.Speed()),
				reconcile.WithSchedule(reconcile.DefaultSchedule), reconcile.WithQuotaShare(st, quotaShare), reconcile.WithHistory(st),
				reconcile.WithBatches(fb), reconcile.WithDrainer(an), reconcile.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			leave := func() {
				now := clk.Now()
				if _, _, err := st.Insert(context.Background(), store.Request{Key: "batch-left", Source: "src", EventID: "batch-left",
					Params: []byte(`{"Requests":[]}`), State: store.Batch, CreatedAt: now, UpdatedAt: now}, nil); err != nil {
					t.Error(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), invocation/speed)
			defer cancel()
			start := clk.Now()
			var wg sync.WaitGroup
			if c.left < 0 {
				leave()
			} else {
				wg.Go(func() {
					if clk.Sleep(ctx, c.left) == nil {
						leave()
					}
				})
			}
			rep, err := svc.Tick(ctx, reconcile.Options{})
			wg.Wait()
			if err != nil {
				t.Fatalf("tick: %v (%+v)", err, rep)
			}
			g, err := sim.Gateway(id)
			if err != nil {
				t.Fatal(err)
			}
			fb.mu.Lock()
			from, to, overlap := fb.from.Sub(start), fb.to.Sub(start), fb.overlap
			fb.mu.Unlock()
			if to-from < batchTakes*3/4 {
				t.Fatalf("the batch was continued from +%s to +%s only: this test shows nothing", from.Round(time.Second), to.Round(time.Second))
			}
			an.mu.Lock()
			at := an.at
			an.mu.Unlock()
			if !at.IsZero() {
				t.Logf("active at +%s, announced %s later; the batch continued from +%s to +%s",
					g.ReadyAt.Sub(start).Round(time.Second), at.Sub(g.ReadyAt).Round(100*time.Millisecond), from.Round(time.Second), to.Round(time.Second))
			}
			switch {
			case at.IsZero():
				t.Errorf("the gateway, active at +%s, was not announced by the tick (%+v)", g.ReadyAt.Sub(start).Round(time.Second), rep)
			case at.Sub(g.ReadyAt) > bound:
				t.Errorf("the gateway was announced %s after it turned active (+%s into the tick), want within %s (the schedule's lone interval %s plus %s); "+
					"the tick continued the batch from +%s to +%s",
					at.Sub(g.ReadyAt).Round(100*time.Millisecond), g.ReadyAt.Sub(start).Round(time.Second), bound, reconcile.DefaultSchedule.Alone, margin,
					from.Round(time.Second), to.Round(time.Second))
			}
			if overlap {
				t.Error("the batch was continued by two calls at once")
			}
			if until, err := st.HeldUntil(context.Background(), store.Batch, "nobody", clk.Now()); err != nil || !until.IsZero() {
				t.Errorf("after the tick the batch is held until +%s (%v), want released", until.Sub(start), err)
			}
			if r, err := st.Get(context.Background(), key); err != nil || r.State != store.Active || r.LeaseOwner != "" && r.LeaseUntil.After(clk.Now()) {
				t.Errorf("after the tick the gateway's request is %s, held by %q until %s (%v); want active and free", r.State, r.LeaseOwner, r.LeaseUntil, err)
			}
		})
	}
}

// lastItem is a batch whose one item left is key's request: the batch is
// done once it is settled.
type lastItem struct {
	clk *testclock.Clock
	st  *sqlstore.Store
	key string

	mu   sync.Mutex
	done time.Time // when FinishBatch found it done, on the clock
}

func (b *lastItem) FinishBatch(ctx context.Context, _ store.Request, _ string) (bool, error) {
	r, err := b.st.Get(ctx, b.key)
	if err != nil || !r.State.Terminal() {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done.IsZero() {
		b.done = b.clk.Now()
	}
	return true, nil
}

// drainLog is the outbox: when each drain was, on the clock.
type drainLog struct {
	clk *testclock.Clock

	mu  sync.Mutex
	ats []time.Time
}

func (d *drainLog) Drain(context.Context) (outbox.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ats = append(d.ats, d.clk.Now())
	return outbox.Report{}, nil
}

func (d *drainLog) Held(context.Context) (int, error)    { return 0, nil }
func (d *drainLog) Reoffer(context.Context) (int, error) { return 0, nil }

// A batch whose last item settles while the tick keeps checking another
// gateway is completed and its summary published within the same bound
// as the item's own outcome, not at the end of the tick: the tick's
// outbox is drained after the batch is completed.
func TestBatchCompletedWhileATickChecksIsPublishedAtOnce(t *testing.T) {
	const (
		speed      = 10
		invocation = 60 * time.Second
		activeAt   = 20 * time.Second
		margin     = 3 * time.Second
	)
	bound := reconcile.DefaultSchedule.Alone + margin
	clk := testclock.NewRunning(t0, speed)
	sim, api, st := emulatedWorld(t, clk, vpcsim.WithRandSeed(5))
	w := &loneWorld{t: t, clk: clk, sim: sim, api: api, st: st}
	delay := func(d time.Duration) {
		if err := sim.SetProvisioningDelay(vpcsim.DelayRange{Min: vpcsim.Duration(d)}); err != nil {
			t.Fatal(err)
		}
	}
	delay(time.Hour)
	w.create() // stays pending: the tick keeps checking it
	delay(activeAt)
	item, id := w.create()
	now := clk.Now()
	if _, _, err := st.Insert(context.Background(), store.Request{Key: "batch-of-one", Source: "src", EventID: "batch-of-one",
		Params: []byte(`{"Requests":[]}`), State: store.Batch, CreatedAt: now, UpdatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	fb := &lastItem{clk: clk, st: st, key: item}
	dl := &drainLog{clk: clk}
	svc, err := reconcile.New(st, &describeLog{api: api, clk: clk}, reconcile.WithClock(clk.Now), reconcile.WithTimer(clk.Sleep, clk.Speed()),
		reconcile.WithSchedule(reconcile.DefaultSchedule), reconcile.WithQuotaShare(st, quotaShare), reconcile.WithHistory(st),
		reconcile.WithBatches(fb), reconcile.WithDrainer(dl), reconcile.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), invocation/speed)
	defer cancel()
	start := clk.Now()
	rep, err := svc.Tick(ctx, reconcile.Options{})
	if err != nil {
		t.Fatalf("tick: %v (%+v)", err, rep)
	}
	g, err := sim.Gateway(id)
	if err != nil {
		t.Fatal(err)
	}
	fb.mu.Lock()
	done := fb.done
	fb.mu.Unlock()
	if done.IsZero() || rep.Batches != 1 {
		t.Fatalf("the batch was not completed by the tick (%+v)", rep)
	}
	var published time.Time
	dl.mu.Lock()
	for _, at := range dl.ats {
		if !at.Before(done) {
			published = at
			break
		}
	}
	dl.mu.Unlock()
	if late := published.Sub(g.ReadyAt); late > bound {
		t.Errorf("the batch's last item turned active at +%s and the batch was completed at +%s, but the outbox was drained next at +%s: %s later, want within %s",
			g.ReadyAt.Sub(start).Round(time.Second), done.Sub(start).Round(100*time.Millisecond), published.Sub(start).Round(100*time.Millisecond),
			late.Round(100*time.Millisecond), bound)
	}
}
