package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/nats-io/nats.go"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// The announce benchmark's world, on an emulated clock.
const (
	// announceSpeed is how many emulated seconds pass in a wall-clock
	// second: a scenario of about eight emulated minutes runs in about
	// sixteen seconds. vpngw's own work (recording, publishing) is
	// stretched as much, which counts against it.
	announceSpeed = 30
	// Gateways take 60 to 300 s (uniform) to turn active.
	announceMinDelay, announceMaxDelay = time.Minute, 5 * time.Minute
	// arrivalSpread: the requests of a scenario arrive at uniformly random
	// times within it.
	arrivalSpread = 2 * time.Minute
	// timerEvery and functionTimeout are the reconcile function's timer
	// and timeout in s.yaml.
	timerEvery, functionTimeout = time.Minute, time.Minute
	// terraformEvery is how often the per-gateway poller asks.
	terraformEvery = 20 * time.Second
	// announceWarmUp is how many gateways the adaptive mode creates and
	// announces before it is measured, in a scenario of their own: the
	// history its schedule learns from (reconcile.Schedule.LearnedWait).
	announceWarmUp = 10
	// announceGiveUp bounds one scenario, emulated.
	announceGiveUp = 20 * time.Minute
)

// announceSizes are the gateways of one scenario: one alone, and a team's
// morning of fifty.
var announceSizes = []int{1, 50}

// announceModes: vpngw as built (adaptive), vpngw checking once per timer
// tick as before (fixed-tick), and Terraform's per-gateway poller.
var announceModes = []string{"adaptive", "fixed-tick", "terraform-20s"}

// BenchmarkAnnounce: n requests arrive over two minutes, each gateway takes
// 60 to 300 s, and the op is the whole scenario until every gateway is
// announced. It reports, on the emulated clock, p50-ns and p95-ns from the
// moment the API reports a gateway active to the moment its outcome reached
// a subscriber of the broker (after the broker acknowledged it; for
// Terraform, the poll that saw it active), and calls/gateway, the
// DescribeVpnGateways (vpngw) or DescribeVpnGateway (Terraform) calls per
// gateway. ns/op is wall-clock time and says nothing. The adaptive mode
// first creates and announces announceWarmUp gateways, unmeasured: the
// history its schedule learns from.
func BenchmarkAnnounce(b *testing.B) {
	for _, n := range announceSizes {
		for _, mode := range announceModes {
			b.Run(fmt.Sprintf("gateways=%d/mode=%s", n, mode), func(b *testing.B) {
				clk := testclock.NewRunning(apptest.Start, announceSpeed)
				opts := []apptest.Option{
					apptest.WithStore("sqlite"), apptest.WithLogOutput(io.Discard), apptest.WithClock(clk),
					apptest.WithEmulator(vpcsim.WithRateLimits(map[string]int{}), vpcsim.WithGatewayQuota(0),
						vpcsim.WithProvisioningDelayRange(announceMinDelay, announceMaxDelay)),
					// The documented 600 DescribeVpnGateways a minute, on
					// the emulated clock: VPNGW_API_RATES is wall-clock
					// time, and the checks keep to their share of it.
					apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": benchPolicy,
						"VPNGW_API_RATES": fmt.Sprintf("CreateVpnGateway=0,DescribeVpnGateways=%d/m", 600*announceSpeed)}),
				}
				s := apptest.New(b, append(opts, apptest.WithReconcileTimer())...)
				tick := s.App.Reconcile.Tick
				if mode == "fixed-tick" {
					// The application's parts, checked as every tick did
					// before: once, at the timer's cadence.
					svc, err := reconcile.New(s.App.Store, s.App.Cloud, reconcile.WithClock(clk.Now),
						reconcile.WithTimer(clk.Sleep, clk.Speed()), reconcile.WithDrainer(s.App.Outbox),
						reconcile.WithSchedule(reconcile.OneCheckPerTick), reconcile.WithLogger(slog.New(slog.DiscardHandler)))
					if err != nil {
						b.Fatal(err)
					}
					tick = svc.Tick
				}
				if mode == "adaptive" {
					// The region's history, which the schedule learns from:
					// gateways created and announced through the stack
					// before the measured ones, as any deployment has
					// after its first gateways. Not measured.
					announceScenario(b, s, tick, clk, announceWarmUp, mode)
				}
				var lat []time.Duration
				calls := 0
				for b.Loop() {
					l, c := announceScenario(b, s, tick, clk, n, mode)
					lat, calls = append(lat, l...), calls+c
				}
				b.ReportMetric(float64(testenv.Percentile(lat, 50)), "p50-ns")
				b.ReportMetric(float64(testenv.Percentile(lat, 95)), "p95-ns")
				b.ReportMetric(float64(calls)/float64(n*b.N), "calls/gateway")
			})
		}
	}
}

// announceScenario runs one scenario and returns each gateway's time from
// active to announced, and the describe calls made.
func announceScenario(tb testing.TB, s *apptest.Stack, tick func(context.Context, reconcile.Options) (reconcile.Report, error),
	clk *testclock.Clock, n int, mode string) ([]time.Duration, int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(announceGiveUp)/announceSpeed))
	defer cancel()
	run := runSeq.Add(1)
	rng := rand.New(rand.NewPCG(uint64(run), 15))
	arrivals := make([]time.Duration, n)
	for i := range arrivals {
		if n > 1 {
			arrivals[i] = time.Duration(rng.Int64N(int64(arrivalSpread)))
		}
	}
	slices.Sort(arrivals)
	action := "DescribeVpnGateways"
	if mode == "terraform-20s" {
		action = "DescribeVpnGateway"
	}
	before := s.API.Calls(action)
	ann := &announced{at: map[string]time.Time{}, want: n, done: make(chan struct{})}
	t0 := clk.Now()
	sleepUntil := func(d time.Duration) error { return clk.Sleep(ctx, t0.Add(d).Sub(clk.Now())) }

	var wg sync.WaitGroup
	if mode == "terraform-20s" {
		create, poll := terraformPoller(tb, s)
		for i, at := range arrivals {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if sleepUntil(at) != nil {
					return
				}
				id, err := create(fmt.Sprintf("tf-%d-%d", run, i))
				if err != nil {
					tb.Error(err)
					return
				}
				for clk.Sleep(ctx, terraformEvery) == nil {
					active, err := poll(id)
					if err != nil {
						tb.Error(err)
						return
					}
					if active {
						ann.add(id, clk.Now())
						return
					}
				}
			}()
		}
	} else {
		nc, err := nats.Connect(s.BrokerURL())
		if err != nil {
			tb.Fatal(err)
		}
		defer nc.Close()
		sub, err := nc.Subscribe(queue.DefaultSubjectPrefix+".>", func(m *nats.Msg) {
			var ev struct{ Type, Subject string }
			if json.Unmarshal(m.Data, &ev) == nil && ev.Type == events.TypeActive {
				ann.add(ev.Subject, clk.Now())
			}
		})
		if err != nil {
			tb.Fatal(err)
		}
		defer sub.Unsubscribe()
		// The timer: a tick every minute, each with the function's
		// timeout, one at a time.
		tickCtx, stopTicks := context.WithCancel(ctx)
		defer stopTicks()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				if sleepUntil(time.Duration(k)*timerEvery) != nil {
					return
				}
				c, cancel := context.WithTimeout(tickCtx, time.Duration(float64(functionTimeout)/announceSpeed))
				// Errors are the report's to show; a tick cut short
				// when the scenario ends is expected.
				_, _ = tick(c, reconcile.Options{})
				cancel()
			}
		}()
		h := s.App.ProvisionHandler()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, at := range arrivals {
				if sleepUntil(at) != nil {
					return
				}
				id := fmt.Sprintf("announce-%d-%d", run, i)
				out, err := h(ctx, requestEvent(id))
				if err != nil {
					tb.Errorf("request %s: %v", id, err)
					return
				}
				if resp, ok := out.(app.ProvisionResponse); !ok || checkAccepted(id, resp.Results) != nil {
					tb.Errorf("request %s: %+v", id, out)
					return
				}
			}
		}()
		defer func() { stopTicks(); wg.Wait() }()
	}
	select {
	case <-ann.done:
	case <-ctx.Done():
		tb.Fatalf("%s: %d of %d gateways announced within %s (emulated)", mode, ann.count(), n, announceGiveUp)
	}
	cancel()
	wg.Wait()
	lat := make([]time.Duration, 0, n)
	for id, at := range ann.at {
		announcedBefore.Store(id, true)
		g, err := s.API.Gateway(id)
		if err != nil {
			tb.Fatal(err)
		}
		if at.Before(g.ReadyAt) {
			tb.Fatalf("gateway %s announced at %s, before it turned active at %s", id, at, g.ReadyAt)
		}
		lat = append(lat, at.Sub(g.ReadyAt))
	}
	return lat, s.API.Calls(action) - before
}

// announced is when each gateway's outcome arrived.
type announced struct {
	mu   sync.Mutex
	at   map[string]time.Time
	want int
	done chan struct{}
}

// announcedBefore holds the gateways earlier scenarios saw announced. An
// event published again (a tick cut short when its scenario ended, between
// the broker's acknowledgement and the mark that it was sent) reaches a
// later scenario's subscriber too: JetStream drops the duplicate from its
// stream, but plain subscribers get every publish.
var announcedBefore sync.Map

func (a *announced) add(id string, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, old := announcedBefore.Load(id); old {
		return
	}
	if _, dup := a.at[id]; dup || len(a.at) == a.want {
		return
	}
	a.at[id] = t
	if len(a.at) == a.want {
		close(a.done)
	}
}

func (a *announced) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// terraformPoller is what Terraform's provider does for each gateway: the
// SDK's typed CreateVpnGateway, then DescribeVpnGateway every 20 s until
// the gateway is active.
func terraformPoller(tb testing.TB, s *apptest.Stack) (create func(token string) (string, error), poll func(id string) (bool, error)) {
	client := sdkClient(tb)
	host := strings.TrimPrefix(s.APIURL, "http://")
	create = func(token string) (string, error) {
		req := vpc.CreateCreateVpnGatewayRequest()
		req.Scheme, req.Domain = "http", host
		req.RegionId, req.VpcId, req.VSwitchId, req.DisasterRecoveryVSwitchId = benchRegion, benchVPC, benchVSwitch, benchDRVSw
		req.Bandwidth, req.Name, req.ClientToken = requests.NewInteger(benchBW), benchName, token
		resp, err := client.CreateVpnGateway(req)
		if err != nil {
			return "", fmt.Errorf("CreateVpnGateway: %w", err)
		}
		return resp.VpnGatewayId, nil
	}
	poll = func(id string) (bool, error) {
		req := vpc.CreateDescribeVpnGatewayRequest()
		req.Scheme, req.Domain = "http", host
		req.RegionId, req.VpnGatewayId = benchRegion, id
		resp, err := client.DescribeVpnGateway(req)
		if err != nil {
			return false, fmt.Errorf("DescribeVpnGateway %s: %w", id, err)
		}
		return resp.Status == vpcsim.StatusActive, nil
	}
	return create, poll
}
