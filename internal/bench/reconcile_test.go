package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// reconcileSizes are the pending gateways per tick the issue asks about.
var reconcileSizes = []int{100, 1000, 10000}

// provisioningDelay is how long the fixture's gateways take to turn active,
// on the fixture's clock; within VPNGW_PROVISION_TIMEOUT (30m), so a tick
// never reports one as timed out.
const provisioningDelay = 5 * time.Minute

// tickTimeout stands in for the reconcile function's timeout.
const tickTimeout = 10 * time.Minute

// reconcileFixture is a stack (SQLite) whose emulator holds n gateways of
// one VPC, each recorded Pending in the store, as provision leaves them.
// With active false the clock never moves, so the gateways stay "init" and
// every tick finds them all still pending: ticks change nothing and can be
// repeated. With active true their provisioning has finished; every row
// recorded for them is settled by the next tick, so each op records them
// afresh (seed).
type reconcileFixture struct {
	*stack
	n      int
	ids    []string // the gateways, in the emulator
	orders []int64
	rows   int  // rows recorded so far, for unique request keys
	fresh  bool // the rows recorded last are still Pending
}

func newReconcileFixture(tb testing.TB, n int, active bool) *reconcileFixture {
	tb.Helper()
	clk := testclock.New(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	s := newStack(tb, "sqlite", clk, vpcsim.WithProvisioningDelay(provisioningDelay))
	f := &reconcileFixture{stack: s, n: n, ids: make([]string, n), orders: make([]int64, n)}
	if err := f.createGateways(); err != nil {
		s.Close()
		tb.Fatal(err)
	}
	if active {
		clk.Advance(provisioningDelay + time.Minute)
	}
	if err := f.seed(); err != nil {
		s.Close()
		tb.Fatal(err)
	}
	return f
}

// createGateways creates the n gateways through vpngw's own client, a few
// calls at a time.
func (f *reconcileFixture) createGateways() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bw := benchBW
	r := events.GatewayRequest{RegionId: benchRegion, VpcId: benchVPC, Bandwidth: &bw,
		VSwitchId: benchVSwitch, DisasterRecoveryVSwitchId: benchDRVSw, Name: benchName}
	const workers = 8
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res, err := f.App.Cloud.CreateVpnGateway(ctx, r, "bench-seed-"+strconv.Itoa(i))
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = fmt.Errorf("create gateway %d of %d: %w", i+1, f.n, err)
					}
					errMu.Unlock()
					continue
				}
				f.ids[i], f.orders[i] = res.VpnGatewayID, res.OrderID
			}
		}()
	}
	for i := range f.n {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	if got := len(f.api().Gateways()); got != f.n {
		return fmt.Errorf("emulator holds %d gateways, want %d", got, f.n)
	}
	return nil
}

func (f *reconcileFixture) api() *vpcsim.Server { return f.emu.api }

// seed records every gateway as a Pending request, as provision does once
// CreateVpnGateway has answered, under request keys not used before.
func (f *reconcileFixture) seed() error {
	ctx := context.Background()
	now := f.Clock.Now()
	params, err := json.Marshal(requestData())
	if err != nil {
		return err
	}
	batch := f.rows
	for i, id := range f.ids {
		ident := request.Identity{Source: "/bench/reconcile", EventID: fmt.Sprintf("r%d-%d", batch, i)}
		rec := store.Request{
			Key: ident.Key(), Source: ident.Source, EventID: ident.EventID, ClientToken: "vpngw-" + ident.Key()[:32],
			RegionID: benchRegion, VpcID: benchVPC, Params: params, State: store.Pending,
			GatewayID: id, OrderID: f.orders[i], Attempts: 1,
			CreatedAt: now, UpdatedAt: now, AcceptedAt: now,
		}
		if _, created, err := f.App.Store.Insert(ctx, rec, nil); err != nil || !created {
			return fmt.Errorf("record gateway %s (created %t): %v", id, created, err)
		}
	}
	f.rows += len(f.ids)
	f.fresh = true
	return nil
}

// tick runs one reconcile tick and checks that it looked at every gateway:
// all of them still pending, or all of them settled active.
func (f *reconcileFixture) tick(wantActive bool) (reconcile.Report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tickTimeout)
	defer cancel()
	rep, err := f.App.Reconcile.Tick(ctx, reconcile.Options{})
	if err != nil {
		return rep, err
	}
	want := reconcile.Report{Claimed: f.n, StillPending: f.n}
	if wantActive {
		want = reconcile.Report{Claimed: f.n, Active: f.n}
	}
	if rep.Claimed != want.Claimed || rep.StillPending != want.StillPending || rep.Active != want.Active ||
		rep.Failed != 0 || rep.Stopped != "" || (wantActive && rep.Published < f.n) {
		wantText := "all still pending"
		if wantActive {
			wantText = "all active and published"
		}
		return rep, fmt.Errorf("tick over %d gateways: claimed %d, active %d, failed %d, still pending %d, published %d, stopped %q; want all claimed and %s",
			f.n, rep.Claimed, rep.Active, rep.Failed, rep.StillPending, rep.Published, rep.Stopped, wantText)
	}
	return rep, nil
}

// fixtures caches reconcile fixtures across benchmark runs: building one of
// 10,000 gateways takes seconds, and BenchmarkReconcileTick and
// BenchmarkPerGatewayPoller look at the very same gateways.
var fixtures = struct {
	sync.Mutex
	m map[string]*reconcileFixture
}{m: map[string]*reconcileFixture{}}

func sharedFixture(b *testing.B, n int, active bool) *reconcileFixture {
	b.Helper()
	key := fmt.Sprintf("%d/%t", n, active)
	fixtures.Lock()
	defer fixtures.Unlock()
	if f := fixtures.m[key]; f != nil {
		return f
	}
	f := newReconcileFixture(b, n, active)
	fixtures.m[key] = f
	atExit.Add(f.Close)
	return f
}

// BenchmarkReconcileTick: one reconcile tick over n pending gateways that
// are still provisioning, the usual tick (creation takes minutes, ticks come
// every minute): claim them, list the region's gateways 50 a page, release.
func BenchmarkReconcileTick(b *testing.B) {
	benchTicks(b, false, "DescribeVpnGateways", func(b *testing.B, f *reconcileFixture) func() (int, error) {
		return func() (int, error) {
			rep, err := f.tick(false)
			return rep.APICalls, err
		}
	})
}

// BenchmarkReconcileSettle: the tick in which all n gateways turned active:
// besides the listing, n state changes each with its outcome in the outbox,
// and n outcomes published to JetStream. Recording the n Pending rows before
// each tick is not timed.
func BenchmarkReconcileSettle(b *testing.B) {
	benchTicks(b, true, "DescribeVpnGateways", func(b *testing.B, f *reconcileFixture) func() (int, error) {
		return func() (int, error) {
			b.StopTimer()
			if !f.fresh {
				if err := f.seed(); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			rep, err := f.tick(true)
			f.fresh = false
			return rep.APICalls, err
		}
	})
}

// BenchmarkPerGatewayPoller: what Terraform's provider and the CLI's waiter
// do for the same n gateways: one DescribeVpnGateway per gateway per round,
// with the SDK's typed client, one call after another.
func BenchmarkPerGatewayPoller(b *testing.B) {
	benchTicks(b, false, "DescribeVpnGateway", func(b *testing.B, f *reconcileFixture) func() (int, error) {
		poll := perGatewayPoller(b, f.emu)
		return func() (int, error) { return poll(f.ids) }
	})
}

// benchTicks runs, for each of reconcileSizes, the round that prepare builds
// over a shared fixture of that many gateways (active or still provisioning),
// and reports the emulator's count of action against the API calls each
// round said it made.
func benchTicks(b *testing.B, active bool, action string, prepare func(b *testing.B, f *reconcileFixture) func() (int, error)) {
	for _, n := range reconcileSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			f := sharedFixture(b, n, active)
			round := prepare(b, f)
			before, busy := f.api().Calls(action), f.emu.busyTime()
			counted := 0
			for b.Loop() {
				calls, err := round()
				if err != nil {
					b.Fatal(err)
				}
				counted += calls
			}
			reportTicks(b, f.api().Calls(action)-before, counted, f.emu.busyTime()-busy)
		})
	}
}

// perGatewayPoller returns one polling round: DescribeVpnGateway for each
// id, checking that each answer is the gateway, still provisioning. It
// returns the calls it made.
func perGatewayPoller(tb testing.TB, emu *emulator) func(ids []string) (int, error) {
	client := sdkClient(tb)
	return func(ids []string) (int, error) {
		calls := 0
		for _, id := range ids {
			req := vpc.CreateDescribeVpnGatewayRequest()
			req.Scheme, req.Domain = "http", emu.host()
			req.RegionId = benchRegion
			req.VpnGatewayId = id
			resp, err := client.DescribeVpnGateway(req)
			calls++
			if err != nil {
				return calls, fmt.Errorf("DescribeVpnGateway %s: %w", id, err)
			}
			if resp.VpnGatewayId != id || resp.Status != vpcsim.StatusInit {
				return calls, fmt.Errorf("DescribeVpnGateway %s: answered %s in status %q, want it still %q", id, resp.VpnGatewayId, resp.Status, vpcsim.StatusInit)
			}
		}
		return calls, nil
	}
}

// reportTicks reports the API calls per tick, as the emulator counted them,
// and the emulator's share of the time per tick (ns/op is all of it);
// counted is what the client side says it made, which must agree.
func reportTicks(b *testing.B, emulatorCalls, counted int, busy time.Duration) {
	b.Helper()
	if emulatorCalls != counted {
		b.Fatalf("the emulator counted %d calls, the client %d", emulatorCalls, counted)
	}
	b.ReportMetric(float64(emulatorCalls)/float64(b.N), "api-calls/tick")
	b.ReportMetric(float64(busy)/float64(b.N), "api-ns/tick")
}
