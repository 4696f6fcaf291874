package vpcclient_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// speedup is how much faster than the wall clock the emulator's clock runs
// in the learning tests: one of its minutes (a quota window) passes in a
// second, so that half an hour of steady load takes half a minute.
const speedup = 60

// fastClock is an emulator clock running speedup times the wall clock,
// starting at a whole minute, so that its quota windows are a second long.
func fastClock() func() time.Time {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	start := time.Now()
	return func() time.Time { return t0.Add(time.Since(start) * speedup) }
}

// emulated is d of the emulator's clock in wall-clock time.
func emulated(d time.Duration) time.Duration { return d / speedup }

// perMinute is n calls a minute of the emulator's clock, in calls a wall
// clock second, as the client's rates are given.
func perMinute(n float64) float64 { return n / 60 * speedup }

// learning is the default learning on the emulator's clock.
func learning() vpcclient.Learning {
	return vpcclient.Learning{
		Window: emulated(time.Minute), Hold: emulated(10 * time.Minute), ProbeEvery: emulated(time.Minute),
		Refresh: time.Millisecond,
	}
}

// steadyLoad makes DescribeVpnGateways calls from workers goroutines, each
// as fast as the client lets it, until stop is closed, and counts the
// calls that succeeded.
func steadyLoad(t *testing.T, c *vpcclient.Client, workers int, stop <-chan struct{}, ok *atomic.Int64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := c.DescribeVpnGateways(ctx, "cn-hangzhou", cloud.Filter{}, 1, 50)
				cancel()
				if err != nil {
					t.Errorf("call failed: %v", err)
					return
				}
				ok.Add(1)
			}
		})
	}
	return &wg
}

// Under a steady load at the configured 60 calls a minute, against an
// account whose real quota is 30: the API throttles once (in the first
// window), the client lowers its rate and meets no throttle after that
// window. Once the quota is raised (to 90), the client finds it again:
// after the hold it probes upwards and ends at the configured rate, never
// above it, with no throttle on the way.
func TestLearnedRateStopsThrottlingAndFindsARaisedQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("runs half an hour of the emulator's clock, 30 s")
	}
	const action = vpcclient.ActionDescribeVpnGateways
	api := vpcsim.New(vpcsim.WithClock(fastClock()), vpcsim.WithClockSpeed(speedup), vpcsim.WithRateLimit(action, 30))
	c := newClient(t, api, vpcclient.Config{
		Rates:     map[string]float64{action: perMinute(60)},
		Learning:  learning(),
		BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond,
	})
	stop := make(chan struct{})
	var ok atomic.Int64
	wg := steadyLoad(t, c, 4, stop, &ok)

	// Phase 1, quota 30: 8 minutes, within the 10 minutes' hold.
	deadline := time.Now().Add(emulated(2 * time.Minute))
	for api.Throttled(action) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	first := api.Throttled(action)
	if first == 0 {
		close(stop)
		wg.Wait()
		t.Fatal("never throttled at twice the quota: the test shows nothing")
	}
	time.Sleep(emulated(time.Minute)) // the rest of the first throttle's window
	learned := c.Rate(context.Background(), "cn-hangzhou", action)
	inFirstWindow := api.Throttled(action)
	time.Sleep(emulated(7 * time.Minute))
	afterFirstWindow := api.Throttled(action) - inFirstWindow
	t.Logf("quota 30/min: %d throttled in the first window (%d when learned), %d after it; learned %.1f calls/min", inFirstWindow, first, afterFirstWindow, learned*60/speedup)
	if afterFirstWindow != 0 {
		t.Errorf("%d throttles after the first window at a steady load, want 0", afterFirstWindow)
	}
	if got := learned * 60 / speedup; got > 30 || got < 25 {
		t.Errorf("learned %.1f calls a minute, want at most the quota (30) and close to it", got)
	}

	// Phase 2: the quota is raised above the configured 60.
	api.SetRateLimit(action, 90)
	before := api.Throttled(action)
	deadline = time.Now().Add(emulated(25 * time.Minute))
	for c.Rate(context.Background(), "cn-hangzhou", action) < perMinute(60) && time.Now().Before(deadline) {
		time.Sleep(emulated(10 * time.Second))
	}
	found := c.Rate(context.Background(), "cn-hangzhou", action)
	calls := ok.Load()
	time.Sleep(emulated(2 * time.Minute))
	lastTwo := ok.Load() - calls
	close(stop)
	wg.Wait()
	t.Logf("quota raised to 90/min: rate %.1f calls/min, %d calls in the last 2 minutes, %d throttled", found*60/speedup, lastTwo, api.Throttled(action)-before)
	if found != perMinute(60) {
		t.Errorf("rate %.1f calls a minute 25 minutes after the quota was raised, want the configured 60", found*60/speedup)
	}
	if n := api.Throttled(action) - before; n != 0 {
		t.Errorf("%d throttles while probing up to a raised quota, want 0", n)
	}
	if lastTwo < 100 {
		t.Errorf("%d calls in the last 2 minutes at 60 a minute, want at least 100", lastTwo)
	}
}

// The rate one instance learns from a throttle is the rate of every other
// instance on the same PostgreSQL database: the second makes no call that
// the first already knows the API would throttle.
func TestLearnedRateIsSharedThroughPostgres(t *testing.T) {
	testSharedLearnedRate(t, testenv.StoreURL(t, "postgres"))
}

// The same through MySQL.
func TestLearnedRateIsSharedThroughMySQL(t *testing.T) {
	testSharedLearnedRate(t, testenv.StoreURL(t, "mysql"))
}

// And through one SQLite file, for processes on one machine.
func TestLearnedRateIsSharedThroughSQLite(t *testing.T) {
	testSharedLearnedRate(t, "sqlite://"+filepath.Join(t.TempDir(), "rates.db"))
}

func testSharedLearnedRate(t *testing.T, dbURL string) {
	const (
		action = vpcclient.ActionDescribeVpnGateways
		region = "cn-hangzhou"
	)
	ctx := context.Background()
	clock := fastClock()
	api := vpcsim.New(vpcsim.WithClock(clock), vpcsim.WithClockSpeed(speedup), vpcsim.WithRateLimit(action, 10))
	var clients [2]*vpcclient.Client
	for i := range clients {
		st, err := sqlstore.OpenSQL(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		clients[i] = newClient(t, api, vpcclient.Config{
			Rates:     map[string]float64{action: perMinute(60)},
			Limiter:   vpcclient.SharedLimiter{Slots: st},
			Book:      st,
			Learning:  learning(),
			BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond,
		})
	}
	a, b := clients[0], clients[1]
	if got := b.Rate(ctx, region, action); got != perMinute(60) {
		t.Fatalf("second instance's rate before any throttle: %g, want the configured %g", got, perMinute(60))
	}
	// The first instance alone runs into the quota of 10 a minute, from
	// the start of a window: its count of the window's calls is then the
	// whole of it (an instance that joined a window late does not learn
	// from its count).
	now := clock()
	time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now) / speedup)
	for api.Throttled(action) == 0 {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := a.DescribeVpnGateways(cctx, region, cloud.Filter{}, 1, 50)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if api.Calls(action) > 30 {
			t.Fatal("no throttle after 30 calls against a quota of 10: the test shows nothing")
		}
	}
	learned := a.Rate(ctx, region, action)
	time.Sleep(5 * time.Millisecond) // past the second instance's cache
	shared := b.Rate(ctx, region, action)
	t.Logf("first instance learned %.2f calls/min; second instance's rate %.2f calls/min", learned*60/speedup, shared*60/speedup)
	if learned >= perMinute(10) || shared != learned {
		t.Fatalf("second instance's rate %g, first's %g: want the first's, below the quota %g", shared, learned, perMinute(10))
	}
	// The second instance now keeps to it: its calls in the next windows
	// are not throttled.
	throttled := api.Throttled(action)
	for range 12 {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.DescribeVpnGateways(cctx, region, cloud.Filter{}, 1, 50)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := api.Throttled(action) - throttled; n != 0 {
		t.Fatalf("second instance throttled %d times after the first learned the rate, want 0", n)
	}
}

// A call the API throttles in the last moments of its window is told to
// wait less than a millisecond, which the throttling headers write as
// TimeLeft:0 (and the emulator, whose clock runs 20 times the wall clock,
// as 0 for the last 20 ms of its window). That names the window's end,
// now: the client's rate was close to the quota. It was read as an answer
// that named no wait, which halves the rate, and the halved rate held for
// the 10 minutes' hold: one such throttle in a 1,000-item batch at 60 a
// minute (BenchmarkBatchAtQuota, 20x clock) made the batch take 2.0 times
// the quota's minimum instead of 1.05.
func TestThrottleAtTheWindowsEndKeepsTheRate(t *testing.T) {
	const (
		action = vpcclient.ActionDescribeVpnGateways
		region = "cn-hangzhou"
		speed  = 20
	)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(t0.Add(10 * time.Second).UnixNano())
	api := vpcsim.New(vpcsim.WithClock(func() time.Time { return time.Unix(0, now.Load()).UTC() }),
		vpcsim.WithClockSpeed(speed), vpcsim.WithRateLimit(action, 2))
	const configured = 100.0 // a second: the limiter does not wait here
	c := newClient(t, api, vpcclient.Config{
		Rates: map[string]float64{action: configured}, MaxAttempts: 1,
	})
	ctx := context.Background()
	for range 2 {
		if _, err := c.DescribeVpnGateways(ctx, region, cloud.Filter{}, 1, 50); err != nil {
			t.Fatal(err)
		}
	}
	// 10 ms of the emulator's clock before its window ends: half a
	// millisecond of the wall clock.
	now.Store(t0.Add(time.Minute - 10*time.Millisecond).UnixNano())
	_, err := c.DescribeVpnGateways(ctx, region, cloud.Filter{}, 1, 50)
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Kind != cloud.Throttled {
		t.Fatalf("third call in a window of 2: %v, want throttled", err)
	}
	got := c.Rate(ctx, region, action)
	t.Logf("throttled %s before the window's end, told to wait %s: rate %.1f a second (configured %.0f)", "10ms", ce.RetryAfter, got, configured)
	if got < 0.9*configured {
		t.Errorf("rate after a throttle at the window's end: %.1f a second, want at least %.1f (the configured %.0f, less the margin): the answer named the window's end, not no wait", got, 0.9*configured, configured)
	}
}
