package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
	"go.yaml.in/yaml/v3"
)

// batchCase is one batch against one CreateVpnGateway quota, on an emulator
// whose clock runs speed times the wall clock (so that a quarter of an
// hour of the API's time passes in seconds). vpngw's rates, invocation
// deadlines, reserves and VPNGW_REDRIVE_AFTER are all scaled alike.
type batchCase struct {
	name     string
	items    int
	perMin   int // the account's CreateVpnGateway quota, and VPNGW_API_RATES' unless rate is set
	rate     int // VPNGW_API_RATES' CreateVpnGateway, a minute (0: perMin)
	speed    int
	invocate time.Duration // a provision invocation's time, on the API's clock
	tickTime time.Duration // a reconcile invocation's time, on the API's clock
	period   time.Duration // the reconcile timer's period, on the API's clock
}

// BenchmarkBatchAtQuota sends one batch to a provision invocation whose
// deadline ends it with items left, while the reconcile timer starts an
// invocation every period (each ticking until its deadline, every 2 s of
// the API's clock: a deployed tick stays and claims every 2 s while
// gateways are pending or another invocation holds a batch it can take
// over, but its claim interval is wall-clock time, so the loop stands for
// it on the scaled clock), until every item is created. It reports the
// time to the last create as a multiple of the quota's minimum (items ÷
// quota), the calls the API throttled, the invocations it took, and the
// seconds to the first create (the API's clock), and the client's
// CreateVpnGateway rate at the end as a share of VPNGW_API_RATES (below 1
// while a rate learned from a throttle holds). The emulator enforces the quota (per clock minute)
// and answers throttling as the API does.
//
// The reconcile invocations are as s.yaml deploys them: its timer's period
// and the function's timeout (ticks overlap when the timeout is longer).
func BenchmarkBatchAtQuota(b *testing.B) {
	tickTime, period := deployedReconcile(b)
	for _, c := range []batchCase{
		{name: "realtime/items=300/quota=600m", items: 300, perMin: 600, speed: 1, invocate: 20 * time.Second},
		{name: "items=300/quota=600m", items: 300, perMin: 600, speed: 4, invocate: 20 * time.Second},
		{name: "items=1000/quota=60m", items: 1000, perMin: 60, speed: 20, invocate: 20 * time.Second},
		// The client paced 5% under the quota: what a margin costs, and
		// the throttles it spares (a start that a loaded machine delays
		// by 50 ms lands a second later on this clock).
		{name: "items=1000/quota=60m,rates=57m", items: 1000, perMin: 60, rate: 57, speed: 20, invocate: 20 * time.Second},
	} {
		c.tickTime, c.period = tickTime, period
		b.Run(c.name, func(b *testing.B) { benchBatch(b, c) })
	}
}

// deployedReconcile reads the reconcile function's timeout and its timer's
// period from s.yaml.
func deployedReconcile(b *testing.B) (timeout, period time.Duration) {
	data, err := os.ReadFile(filepath.Join("..", "..", "s.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var doc struct {
		Resources struct {
			Reconcile struct {
				Props struct {
					Timeout  int `yaml:"timeout"`
					Triggers []struct {
						Type   string `yaml:"triggerType"`
						Config struct {
							Cron string `yaml:"cronExpression"`
						} `yaml:"triggerConfig"`
					} `yaml:"triggers"`
				} `yaml:"props"`
			} `yaml:"reconcile"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		b.Fatalf("s.yaml: %v", err)
	}
	p := doc.Resources.Reconcile.Props
	for _, t := range p.Triggers {
		if t.Type != "timer" {
			continue
		}
		switch cron := t.Config.Cron; {
		case cron == "0 * * * * *":
			period = time.Minute
		case strings.HasPrefix(cron, "@every "):
			period, err = time.ParseDuration(strings.TrimPrefix(cron, "@every "))
			if err != nil {
				b.Fatalf("s.yaml: reconcile timer %q: %v", cron, err)
			}
		default:
			b.Fatalf("s.yaml: reconcile timer %q: the benchmark reads every minute or @every only", cron)
		}
	}
	if p.Timeout <= 0 || period <= 0 {
		b.Fatalf("s.yaml: reconcile timeout %d s, timer period %s: want both", p.Timeout, period)
	}
	return time.Duration(p.Timeout) * time.Second, period
}

func benchBatch(b *testing.B, c batchCase) {
	k := time.Duration(c.speed)
	wall := func(d time.Duration) time.Duration { return d / k }
	t0 := time.Now().Truncate(time.Minute)
	clock := func() time.Time { return t0.Add(time.Since(t0) * k) }
	rate := c.perMin
	if c.rate > 0 {
		rate = c.rate
	}
	// The client learns from throttling on the emulator's clock, as it
	// would on the API's: with a wall-clock minute and hold, one throttle
	// lowered its rate for 200 minutes of this clock, the rest of the run.
	s := apptest.New(b, apptest.Detached(), apptest.WithStore("sqlite"), apptest.WithLogOutput(io.Discard), apptest.WithWallClock(),
		apptest.WithAPIClockSpeed(float64(c.speed)),
		apptest.WithEmulator(vpcsim.WithRateLimits(map[string]int{}), vpcsim.WithGatewayQuota(0),
			vpcsim.WithClock(clock), vpcsim.WithClockSpeed(c.speed), vpcsim.WithRateLimit("CreateVpnGateway", c.perMin)),
		apptest.WithEnv(map[string]string{
			"VPNGW_POLICY_INLINE": benchPolicy,
			"VPNGW_API_RATES":     fmt.Sprintf("CreateVpnGateway=%d/m,DescribeVpnGateways=%d/m", rate*c.speed, 600*c.speed),
		}))
	defer s.Close()
	a := s.App
	rec, err := reconcile.New(a.Store, a.Cloud, reconcile.WithLogger(a.Log), reconcile.WithReserve(wall(5*time.Second)),
		reconcile.WithRedriver(redriver{a.Provision}, wall(a.Config.RedriveAfter)), reconcile.WithBatches(a.Provision))
	if err != nil {
		b.Fatal(err)
	}
	var frac, throttles, invocations, first, rateAtEnd float64
	b.ResetTimer()
	for range b.N {
		id := fmt.Sprintf("bench-batch-%d", runSeq.Add(1))
		items := make([]map[string]any, c.items)
		for i := range items {
			items[i] = requestData()
		}
		payload := batchPayload(id, items)
		before := s.API.Throttled("CreateVpnGateway")
		created0 := len(s.API.Gateways())
		start, apiStart := time.Now(), clock()
		ctx, cancel := context.WithTimeout(context.Background(), wall(c.invocate))
		_, _ = a.ProvisionHandler()(provision.WithDeadlineReserve(ctx, wall(3*time.Second)), payload)
		cancel()
		done := func() bool { return len(s.API.Gateways())-created0 >= c.items }
		n := 1
		limit := time.Now().Add(wall(10 * time.Duration(c.items) * time.Minute / time.Duration(c.perMin)))
		var wg sync.WaitGroup
		timer := time.NewTicker(wall(c.period))
		for !done() {
			if time.Now().After(limit) {
				b.Fatalf("%d of %d items created after 10 times the quota's minimum", len(s.API.Gateways())-created0, c.items)
			}
			n++
			wg.Go(func() {
				ictx, icancel := context.WithTimeout(context.Background(), wall(c.tickTime))
				defer icancel()
				ictx = provision.WithDeadlineReserve(ictx, wall(3*time.Second))
				for !done() && ictx.Err() == nil {
					_, _ = rec.Tick(ictx, reconcile.Options{})
					select {
					case <-ictx.Done():
					case <-time.After(wall(2 * time.Second)):
					}
				}
			})
			for !done() {
				select {
				case <-timer.C:
				case <-time.After(wall(time.Second)):
					continue
				}
				break
			}
		}
		timer.Stop()
		wg.Wait()
		took := time.Since(start) * k
		minimum := time.Duration(c.items) * time.Minute / time.Duration(c.perMin)
		frac += took.Seconds() / minimum.Seconds()
		// The time to the first create is mostly the recording of every
		// item, which comes before any create (and counts speed times).
		firstAt := time.Time{}
		for _, g := range s.API.Gateways()[created0:] {
			if firstAt.IsZero() || g.CreateTime.Before(firstAt) {
				firstAt = g.CreateTime
			}
		}
		first += firstAt.Sub(apiStart).Seconds()
		throttles += float64(s.API.Throttled("CreateVpnGateway") - before)
		invocations += float64(n)
		// Below 1 when a throttle lowered the client's rate and it has
		// not probed back up yet.
		rateAtEnd += a.Cloud.Rate(context.Background(), benchRegion, "CreateVpnGateway") / (float64(rate*c.speed) / 60)
	}
	b.StopTimer()
	b.ReportMetric(frac/float64(b.N), "x-quota-min")
	b.ReportMetric(throttles/float64(b.N), "throttles")
	b.ReportMetric(invocations/float64(b.N), "invocations")
	b.ReportMetric(first/float64(b.N), "s-to-first-create")
	b.ReportMetric(rateAtEnd/float64(b.N), "rate-at-end")
}

// batchPayload is a batch request event as EventBridge delivers it.
func batchPayload(id string, items []map[string]any) []byte {
	ev := map[string]any{
		"specversion": "1.0", "id": id, "source": "acs:eventbridge:bench", "type": events.TypeBatchRequested,
		"datacontenttype": "application/json", "data": map[string]any{"Requests": items},
	}
	out, err := json.Marshal(ev)
	if err != nil {
		panic(err) // maps of strings and ints always marshal
	}
	return out
}

// redriver is app's adapter of the provision use case to reconcile's port.
type redriver struct{ p *provision.Service }

func (r redriver) Redrive(ctx context.Context, rec store.Request) error {
	_, err := r.p.Redrive(ctx, rec)
	return err
}
