package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// batchCase is one batch against one CreateVpnGateway quota, on an emulator
// whose clock runs speed times the wall clock (so that a quarter of an
// hour of the API's time passes in seconds). vpngw's rates, invocation
// deadlines, reserves and VPNGW_REDRIVE_AFTER are all scaled alike.
type batchCase struct {
	name     string
	items    int
	perMin   int // the account's CreateVpnGateway quota, and VPNGW_API_RATES'
	speed    int
	invocate time.Duration // a provision invocation's time, on the API's clock
	tickTime time.Duration // a reconcile invocation's time, on the API's clock
	period   time.Duration // the reconcile timer's period, on the API's clock
}

// BenchmarkBatchAtQuota sends one batch to a provision invocation whose
// deadline ends it with items left, while the reconcile timer starts an
// invocation every period (each ticking until its deadline, every 2 s of
// the API's clock when idle, as an invocation that keeps checking does),
// until every item is created. It reports the time to the last create as a multiple of the
// quota's minimum (items ÷ quota), the calls the API throttled, and the
// invocations it took. The emulator enforces the quota (per clock minute)
// and answers throttling as the API does.
func BenchmarkBatchAtQuota(b *testing.B) {
	for _, c := range []batchCase{
		{name: "realtime/items=300/quota=600m", items: 300, perMin: 600, speed: 1, invocate: 20 * time.Second, tickTime: 55 * time.Second, period: time.Minute},
		{name: "items=300/quota=600m", items: 300, perMin: 600, speed: 4, invocate: 20 * time.Second, tickTime: 55 * time.Second, period: time.Minute},
		{name: "items=1000/quota=60m", items: 1000, perMin: 60, speed: 20, invocate: 20 * time.Second, tickTime: 55 * time.Second, period: time.Minute},
	} {
		b.Run(c.name, func(b *testing.B) { benchBatch(b, c) })
	}
}

func benchBatch(b *testing.B, c batchCase) {
	k := time.Duration(c.speed)
	wall := func(d time.Duration) time.Duration { return d / k }
	t0 := time.Now().Truncate(time.Minute)
	clock := func() time.Time { return t0.Add(time.Since(t0) * k) }
	s := apptest.New(b, apptest.Detached(), apptest.WithStore("sqlite"), apptest.WithLogOutput(io.Discard), apptest.WithWallClock(),
		apptest.WithEmulator(vpcsim.WithRateLimits(map[string]int{}), vpcsim.WithGatewayQuota(0),
			vpcsim.WithClock(clock), vpcsim.WithClockSpeed(c.speed), vpcsim.WithRateLimit("CreateVpnGateway", c.perMin)),
		apptest.WithEnv(map[string]string{
			"VPNGW_POLICY_INLINE": benchPolicy,
			"VPNGW_API_RATES":     fmt.Sprintf("CreateVpnGateway=%d/m,DescribeVpnGateways=%d/m", c.perMin*c.speed, 600*c.speed),
		}))
	defer s.Close()
	a := s.App
	rec, err := reconcile.New(a.Store, a.Cloud, reconcile.WithLogger(a.Log), reconcile.WithReserve(wall(5*time.Second)),
		reconcile.WithRedriver(redriver{a.Provision}, wall(a.Config.RedriveAfter)), reconcile.WithBatches(a.Provision))
	if err != nil {
		b.Fatal(err)
	}
	var frac, throttles, invocations float64
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
		start := time.Now()
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
		throttles += float64(s.API.Throttled("CreateVpnGateway") - before)
		invocations += float64(n)
	}
	b.StopTimer()
	b.ReportMetric(frac/float64(b.N), "x-quota-min")
	b.ReportMetric(throttles/float64(b.N), "throttles")
	b.ReportMetric(invocations/float64(b.N), "invocations")
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
