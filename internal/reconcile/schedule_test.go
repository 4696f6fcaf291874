package reconcile_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

func TestScheduleBacksOffWithAge(t *testing.T) {
	s := reconcile.DefaultSchedule
	for _, c := range []struct {
		age, want time.Duration
	}{
		{0, 2 * time.Second},
		{-time.Second, 2 * time.Second},
		{150 * time.Second, 6 * time.Second},
		{5 * time.Minute, 10 * time.Second},
		{time.Hour, 10 * time.Second},
	} {
		if got := s.Interval(c.age); got != c.want {
			t.Errorf("Interval(%s) = %s, want %s", c.age, got, c.want)
		}
	}
	if reconcile.OneCheckPerTick.Adaptive() || reconcile.OneCheckPerTick.Interval(time.Minute) != 0 {
		t.Error("OneCheckPerTick checks more than once")
	}
}

// describeLog is the real client, recording when (on the test clock) each
// DescribeVpnGateways call was made and whether it began a listing.
type describeLog struct {
	api *vpcclient.Client
	clk *testclock.Clock

	mu     sync.Mutex
	calls  []time.Time
	checks []time.Time // page 1 of a listing: a check began
}

func (d *describeLog) DescribeVpnGateways(ctx context.Context, region string, f cloud.Filter, page, size int) (cloud.Page, error) {
	d.mu.Lock()
	now := d.clk.Now()
	d.calls = append(d.calls, now)
	if page == 1 && f.VpnGatewayId == "" {
		d.checks = append(d.checks, now)
	}
	d.mu.Unlock()
	return d.api.DescribeVpnGateways(ctx, region, f, page, size)
}

// quotaShare is what internal/app gives reconcile for the documented 600
// DescribeVpnGateways calls a minute: half (app.ReconcileQuotaShare).
const quotaShare = 0.5 * 600.0 / 60

// emulatedRun is n gateways created at t0 in one VPC of the emulator, which
// takes 60 to 300 s (uniform) to make each active and enforces the
// documented 600 DescribeVpnGateways a minute on its clock, each recorded
// pending; and a reconcile service on the same clock, whose ticks sleep on
// it.
func emulatedRun(t *testing.T, n int) (*reconcile.Service, *describeLog, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(t0)
	_, api, st := emulatedWorld(t, clk, vpcsim.WithRandSeed(7))
	bw := 10
	r := events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1vpngwdemo0000001", Bandwidth: &bw,
		VSwitchId: "vsw-bp1vpngwdemo0000001", DisasterRecoveryVSwitchId: "vsw-bp1vpngwdemo0000002", Name: "sched"}
	for i := range n {
		res, err := api.CreateVpnGateway(context.Background(), r, "sched-"+strconv.Itoa(i))
		if err != nil {
			t.Fatalf("create gateway %d: %v", i, err)
		}
		pending(t, st, i, r.RegionId, r.VpcId, res.VpnGatewayID)
	}
	log := &describeLog{api: api, clk: clk}
	svc, err := reconcile.New(st, log, reconcile.WithClock(clk.Now), reconcile.WithTimer(clk.Sleep, clk.Speed()),
		reconcile.WithSchedule(reconcile.DefaultSchedule), reconcile.WithQuotaShare(st, quotaShare))
	if err != nil {
		t.Fatal(err)
	}
	return svc, log, clk
}

// emulatedWorld is the emulator on clk (gateways active after 60 to 300 s,
// uniform; the documented 600 DescribeVpnGateways a minute enforced), the
// real client to it, and a SQLite store on clk.
func emulatedWorld(t *testing.T, clk *testclock.Clock, opts ...vpcsim.Option) (*vpcsim.Server, *vpcclient.Client, *sqlstore.Store) {
	t.Helper()
	sim := vpcsim.New(append([]vpcsim.Option{vpcsim.WithClock(clk.Now), vpcsim.WithProvisioningDelayRange(time.Minute, 5*time.Minute),
		vpcsim.WithRateLimit("DescribeVpnGateways", 600), vpcsim.WithGatewayQuota(0)}, opts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	// No client-side rate limit: what keeps the checks within the share is
	// the schedule's pacing alone, and the emulator answers Throttling.User
	// (an error in the tick's report) if the account's quota is passed.
	api, err := vpcclient.New(vpcclient.Config{Endpoint: srv.URL, MaxAttempts: 1,
		Credentials: cloud.Credentials{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret},
		Rates:       map[string]float64{"CreateVpnGateway": 0, "DescribeVpnGateways": 0}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"), sqlstore.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return sim, api, st
}

// runTicks starts a tick at every minute from t0, as the timer does, each
// with a function's 60 s deadline, until every gateway is settled.
func runTicks(t *testing.T, svc *reconcile.Service, clk *testclock.Clock, n int) {
	t.Helper()
	settled := 0
	for minute := 0; settled < n; minute++ {
		if minute > 8 {
			t.Fatalf("%d of %d gateways settled after %d minutes; the emulator makes each active within 5", settled, n, minute)
		}
		if start := t0.Add(time.Duration(minute) * time.Minute); clk.Now().Before(start) {
			clk.Advance(start.Sub(clk.Now()))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		rep, err := svc.Tick(ctx, reconcile.Options{})
		cancel()
		if err != nil {
			t.Fatalf("tick at %s: %v", clk.Now().Sub(t0), err)
		}
		if rep.Failed != 0 {
			t.Fatalf("tick at %s failed %d gateways: %+v", clk.Now().Sub(t0), rep.Failed, rep)
		}
		settled += rep.Active
	}
}

// perMinute counts calls by the clock minute they fell in, from t0.
func perMinute(ts []time.Time) map[int]int {
	out := map[int]int{}
	for _, c := range ts {
		out[int(c.Sub(t0)/time.Minute)]++
	}
	return out
}

// maxGap is the longest time between consecutive instants of ts in
// [from, to).
func maxGap(ts []time.Time, from, to time.Time) time.Duration {
	var gap time.Duration
	var last time.Time
	for _, c := range ts {
		if c.Before(from) || !c.Before(to) {
			continue
		}
		if !last.IsZero() {
			gap = max(gap, c.Sub(last))
		}
		last = c
	}
	return gap
}

// With 1,000 gateways pending in one region a check is 20 calls, and
// checking every 2 s would take 600 a minute: the whole documented quota.
// The checks keep to their share, 300 a minute, in every minute, are never
// throttled, still come every few seconds, and announce every gateway.
func TestAdaptiveChecksStayWithinTheQuotaShare(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,000 gateways")
	}
	const n = 1000
	svc, log, clk := emulatedRun(t, n)
	runTicks(t, svc, clk, n)
	limit := int(quotaShare * 60)
	busiest := 0
	for m, c := range perMinute(log.calls) {
		if c > limit {
			t.Errorf("minute %d: %d DescribeVpnGateways calls, over the checks' share of %d a minute", m, c, limit)
		}
		busiest = max(busiest, c)
	}
	if busiest < limit*9/10 {
		t.Errorf("the busiest minute made %d calls: the share of %d a minute never bound, so this test shows nothing", busiest, limit)
	}
	// 20 calls at 5 a second: a check every 4 s while all 1,000 are young.
	if gap := maxGap(log.checks, t0, t0.Add(55*time.Second)); gap > 5*time.Second {
		t.Errorf("in the first tick, checks came up to %s apart; want every few seconds", gap)
	}
	t.Logf("%d calls for %d gateways; per minute %v", len(log.calls), n, perMinute(log.calls))
}

// A few young gateways are checked every 2 s or so (one call each time),
// older ones less often, never more than 10 s apart within a tick.
func TestAdaptiveChecksYoungGatewaysEveryFewSeconds(t *testing.T) {
	const n = 5
	svc, log, clk := emulatedRun(t, n)
	runTicks(t, svc, clk, n)
	if gap := maxGap(log.checks, t0, t0.Add(55*time.Second)); gap > 4*time.Second {
		t.Errorf("in the first 55 s, checks came up to %s apart; want every 2 to 4 s", gap)
	}
	if first := perMinute(log.checks)[0]; first < 15 {
		t.Errorf("%d checks in the first minute; want one every few seconds", first)
	}
	for m := range 5 {
		from := t0.Add(time.Duration(m) * time.Minute)
		if gap := maxGap(log.checks, from, from.Add(55*time.Second)); gap > 10*time.Second {
			t.Errorf("minute %d: checks came up to %s apart; want at most 10 s", m, gap)
		}
	}
	if got, want := len(log.calls), len(log.checks); got != want {
		t.Errorf("%d calls for %d checks of %d gateways in one VPC: want one call a check", got, want, n)
	}
	t.Logf("%d checks; per minute %v", len(log.checks), perMinute(log.checks))
}

// A tick limited to some regions, as an operator invokes one, checks once:
// staying would keep the other regions' requests it claimed from the
// timer's ticks.
func TestAdaptiveTickLimitedToRegionsChecksOnce(t *testing.T) {
	svc, log, clk := emulatedRun(t, 3)
	clk.Advance(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := svc.Tick(ctx, reconcile.Options{Regions: []string{"cn-hangzhou"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checks != 1 || len(log.checks) != 1 || rep.StillPending != 3 {
		t.Errorf("region-limited tick: %d checks (%d listings), %d still pending; want one check, 3 pending", rep.Checks, len(log.checks), rep.StillPending)
	}
}
