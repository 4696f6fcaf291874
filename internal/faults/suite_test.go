package faults

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// Environment variables that size and steer the suite.
const (
	requestsEnv   = "VPNGW_FAULT_REQUESTS"   // distinct requests per scenario (default 200)
	deliveriesEnv = "VPNGW_FAULT_DELIVERIES" // deliveries of each request (default 5)
	seedEnv       = "VPNGW_FAULT_SEED"       // random seed, to repeat a run's plan, groupings and kill points
	settleEnv     = "VPNGW_FAULT_SETTLE"     // how long the pipeline may take to settle after the last delivery (default 60s)
	reportEnv     = "VPNGW_FAULT_REPORT"     // file to write the figures to, as a Markdown table
)

// The functions' timeouts in the suite: long enough for a delivery of eight
// requests through the faults, short enough that a killed instance's
// invocations are given up on quickly.
const (
	provisionTimeout = 5 * time.Second
	reconcileTimeout = 10 * time.Second
)

// Settings every instance of the pipeline runs with. The client-side rate
// limit is raised from the API's quota (60 creates a minute) so that a run
// takes seconds, and still paces calls; re-driving starts after 2 s.
var pipelineEnv = map[string]string{
	"VPNGW_API_RATES":     "CreateVpnGateway=200/s,DescribeVpnGateways=200/s",
	"VPNGW_REDRIVE_AFTER": "2s",
	"VPNGW_CONCURRENCY":   "8",
	"VPNGW_LOG_FORMAT":    "text",
	"VPNGW_LOG_LEVEL":     "info",
	// The suite's services are local and plaintext, and each run's store
	// is fresh: the functions migrate it themselves.
	"VPNGW_ALLOW_INSECURE_TRANSPORT": "1",
	"VPNGW_MIGRATE":                  "on",
}

type size struct {
	requests, deliveries int
	seed                 uint64
	settle               time.Duration
}

func sizeFromEnv(t *testing.T) size {
	t.Helper()
	sz := size{requests: 200, deliveries: 5, settle: 60 * time.Second, seed: rand.Uint64() % 1_000_000}
	for _, v := range []struct {
		name string
		dst  *int
		lo   int
	}{{requestsEnv, &sz.requests, 20}, {deliveriesEnv, &sz.deliveries, 1}} {
		if s := os.Getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < v.lo {
				t.Fatalf("%s=%q: want a whole number of at least %d", v.name, s, v.lo)
			}
			*v.dst = n
		}
	}
	if s := os.Getenv(seedEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a whole number", seedEnv, s)
		}
		sz.seed = n
	}
	if s := os.Getenv(settleEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a duration such as 60s", settleEnv, s)
		}
		sz.settle = d
	}
	return sz
}

// scenario is one run of the pipeline through a kind of failure.
type scenario struct {
	name   string
	what   string
	faults vpcsim.Faults
	// brokerOutage stops the broker a fifth of the way through the
	// deliveries and starts it again two seconds later.
	brokerOutage bool
	// dbRestart restarts PostgreSQL a third of the way through.
	dbRestart bool
	// credentialsOutage rotates the access key the pipeline signs with a
	// fifth of the way through the deliveries, for this long, then puts
	// the old secret back (the operator fixing the configuration).
	credentialsOutage time.Duration
	// processes runs the built function binaries under runtime API servers
	// and kills them with SIGKILL at random moments.
	processes bool
	// attempts is how often the platform delivers a payload before it gives
	// up on it (default 40); what it gave up on, reconcile must re-drive.
	attempts int
	// maxPayload is the broker's max_payload in bytes (0: NATS's default,
	// 1 MiB); with it, 5% of the requests are oversized: their failed
	// events are larger than the broker takes.
	maxPayload int32
}

var scenarios = []scenario{
	{name: "redelivery", what: "every request delivered N times, concurrently"},
	// The emulator rolls for a 5xx only on calls it did not throttle: 5/70
	// of those is 5% of all calls.
	// The platform gives up after three retries here, Function Compute's
	// default for asynchronous invocations, so that some requests are left
	// to reconcile's re-drive.
	{name: "api-faults", what: "30% throttling and 5% 5xx on every API call; the platform retries 3 times",
		// A short-lived throttle (1 s): one that named the quota window's
		// end on 30% of calls would hold every call until then, as the
		// client does for a spent quota, and end the run's invocations.
		faults: vpcsim.Faults{ThrottleRate: 0.30, ThrottleWait: time.Second, ServerErrorRate: 0.05 / 0.70}, attempts: 4},
	{name: "lost-answers", what: "20% of CreateVpnGateway answers lost after the gateway exists",
		faults: vpcsim.Faults{LostCreateRate: 0.20}},
	{name: "broker-outage", what: "the broker down for 2 s part-way through", brokerOutage: true},
	{name: "sigkill", what: "provision and reconcile processes killed with SIGKILL and restarted", processes: true},
	{name: "db-restart", what: "PostgreSQL restarted part-way through", dbRestart: true},
	{name: "oversized-outcome", what: "a broker taking at most 4 KiB; 5% of the requests answered by a failed event of about 8 KiB, in the middle of the stream",
		maxPayload: 4096},
	// A minute without valid credentials, at the suite's scale of time
	// (re-drive after 2 s instead of 2 min: a sixtieth), is a second. The
	// platform gives up after three retries, so that some requests are
	// left to reconcile's re-drive after the fix, as others are to the
	// platform's next delivery.
	{name: "credentials-outage", what: "the access key rotated for 60 s (1 s at the suite's scale): every call refused SignatureDoesNotMatch, then the old secret back; the platform retries 3 times",
		credentialsOutage: time.Second, attempts: 4},
}

// report is one scenario's figures.
type report struct {
	Scenario, Store                string
	Requests, Deliveries           int
	Payloads                       int
	Invocations, FailedInvocations int64
	GaveUp                         int64
	Ticks, Redriven                int64
	Throttled, ServerErrors, Lost  int
	Creates, Describes             int
	Kills, BrokerOutages           int
	Parked                         int
	DBRestarts                     int
	CredentialRefusals             int
	StreamEvents, PlainEvents      int
	PlainDuplicates                int
	Violations                     int
	Duration                       time.Duration
}

// TestFaultSuite runs every scenario and checks the invariants after each.
func TestFaultSuite(t *testing.T) {
	sz := sizeFromEnv(t)
	t.Logf("size: %d requests × %d deliveries, seed %d (%s=%d repeats its groupings and kill points)", sz.requests, sz.deliveries, sz.seed, seedEnv, sz.seed)
	var reports []report // the scenarios run one after another
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Logf("%s: %s", sc.name, sc.what)
			sz := sz
			sz.seed += uint64(i)
			var rep report
			switch {
			case sc.processes:
				rep = runProcesses(t, sc, sz)
			case sc.dbRestart:
				if os.Getenv(dbRestartEnv) != "1" {
					t.Skipf("restarting the database disrupts other tests using it: set %s=1 (and %s) to run this scenario on its own", dbRestartEnv, testenv.PostgresEnv)
				}
				testenv.URL(t, testenv.PostgresEnv) // the scenario needs the server
				rep = runInProcess(t, sc, sz)
			default:
				rep = runInProcess(t, sc, sz)
			}
			reports = append(reports, rep)
		})
	}
	table := reportTable(reports)
	t.Log("\n" + table)
	if path := os.Getenv(reportEnv); path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Errorf("%s: %v", reportEnv, err)
		}
	}
}

func reportTable(rs []report) string {
	var b strings.Builder
	b.WriteString("| scenario | store | requests | deliveries | payloads | invocations (failed) | throttled | 5xx | lost answers | kills | broker outages | DB restarts | key refused | creates | re-driven | stream events | plain (dup) | parked | violations | time |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d (%d) | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d (%d) | %d | %d | %.1fs |\n",
			r.Scenario, r.Store, r.Requests, r.Deliveries, r.Payloads, r.Invocations, r.FailedInvocations,
			r.Throttled, r.ServerErrors, r.Lost, r.Kills, r.BrokerOutages, r.DBRestarts, r.CredentialRefusals, r.Creates, r.Redriven,
			r.StreamEvents, r.PlainEvents, r.PlainDuplicates, r.Parked, r.Violations, r.Duration.Seconds())
	}
	return b.String()
}

// harness is what every scenario shares: the emulator, the broker, the
// plan and its payloads, and a store handle to look at the end result.
type harness struct {
	t         *testing.T
	sc        scenario
	sz        size
	rng       *rand.Rand
	plan      []planned
	payloads  [][]byte
	api       *api
	stack     *apptest.Stack
	storeKind string
	store     *sqlstore.Store
	logs      *testenv.SyncBuffer
	start     time.Time
}

func newHarness(t *testing.T, sc scenario, sz size, storeKind string) *harness {
	t.Helper()
	h := &harness{t: t, sc: sc, sz: sz, start: time.Now(), logs: &testenv.SyncBuffer{Max: 256 << 10}, storeKind: storeKind}
	h.rng = rand.New(rand.NewPCG(sz.seed, sz.seed^0x5eed))
	h.plan = newPlanWith(t, sc.name, sz.requests, sc.maxPayload > 0)
	h.payloads = deliveries(t, h.rng, h.plan, sz.deliveries)
	h.api = newAPI()
	// The processes of the SIGKILL scenario cannot share a test clock, so
	// every scenario runs on the wall clock. The operator policy is the
	// local stack's explicit allow-everything rule; what the policy decides
	// is not what this suite is about.
	h.stack = apptest.New(t, apptest.WithWallClock(), apptest.WithoutApp(), apptest.WithStore(storeKind),
		apptest.WithNATSMaxPayload(sc.maxPayload), apptest.WithEnv(pipelineEnv),
		apptest.WithEmulator(emulatorOptions(sz.seed)...), apptest.WithEmulatorHandler(h.api.tap))
	h.api.sim = h.stack.API
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlstore.OpenSQL(ctx, h.stack.StoreURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.store = st
	t.Cleanup(func() {
		if t.Failed() && h.logs.String() != "" {
			t.Logf("last pipeline log lines:\n%s", lastLines(h.logs.String(), 60))
		}
	})
	return h
}

// finish waits for the pipeline to settle, reads what it left behind,
// checks the invariants and fills in the report.
func (h *harness) finish(rep *report, d *driver, stopTicking func() *ticker) {
	t := h.t
	ctx, cancel := context.WithTimeout(context.Background(), h.sz.settle+time.Minute)
	defer cancel()
	settleErr := waitSettled(ctx, h.store, h.sz.settle)
	tk := stopTicking()
	rep.Ticks, rep.Redriven = tk.ticks.Load(), tk.redriven.Load()
	if settleErr != nil {
		t.Error(settleErr)
	}
	o := observed{plan: h.plan, gateways: h.api.sim.Gateways(), createsByToken: h.api.creates(),
		plainComplete: !h.sc.brokerOutage}
	var err error
	if o.records, err = listAll(ctx, h.store); err != nil {
		t.Fatal(err)
	}
	unsent, err := h.store.Unsent(ctx, 100000)
	if err != nil {
		t.Fatal(err)
	}
	o.unsent = len(unsent)
	if o.parked, err = h.store.Parked(ctx, 100000); err != nil {
		t.Fatal(err)
	}
	rep.Parked = len(o.parked)
	if o.stream, err = streamEvents(ctx, h.stack); err != nil {
		t.Fatalf("read the stream: %v", err)
	}
	var badPlain int
	o.plain, badPlain = plainEvents(h.stack.WaitMessages(len(o.stream)))
	if badPlain > 0 {
		t.Errorf("%d messages on the plain subscription are not CloudEvents", badPlain)
	}
	v := checkInvariants(o)

	calls, throttled, serverErrors, lost := h.api.counts()
	rep.Scenario, rep.Store = h.sc.name, h.storeKind
	rep.Requests, rep.Deliveries, rep.Payloads = len(h.plan), h.sz.deliveries, len(h.payloads)
	rep.Invocations, rep.FailedInvocations, rep.GaveUp = d.invocations.Load(), d.failed.Load(), d.gaveUp.Load()
	rep.Throttled, rep.ServerErrors, rep.Lost = throttled, serverErrors, lost
	rep.Creates, rep.Describes = calls["CreateVpnGateway"], calls["DescribeVpnGateways"]
	rep.BrokerOutages = h.stack.Outages()
	rep.CredentialRefusals = h.api.refusals()
	rep.StreamEvents, rep.PlainEvents, rep.PlainDuplicates = v.streamEvents, v.plainEvents, v.plainDuplicates
	rep.Violations = len(v.violations)
	rep.Duration = time.Since(h.start)

	t.Logf("%s: %d requests × %d deliveries in %d payloads; %d invocations, %d failed, %d given up; %d ticks, %d re-driven; "+
		"API calls %v; injected %d throttles, %d 5xx, %d lost answers; %d kills; %d broker outages; %d DB restarts; %d calls refused for the key; "+
		"stream %d events, plain subscription %d (%d duplicates); %d parked; %d violations; %s",
		rep.Scenario, rep.Requests, rep.Deliveries, rep.Payloads, rep.Invocations, rep.FailedInvocations, rep.GaveUp,
		rep.Ticks, rep.Redriven, calls, rep.Throttled, rep.ServerErrors, rep.Lost, rep.Kills, rep.BrokerOutages, rep.DBRestarts, rep.CredentialRefusals,
		rep.StreamEvents, rep.PlainEvents, rep.PlainDuplicates, rep.Parked, rep.Violations, rep.Duration.Round(time.Millisecond))
	if len(d.errSample) > 0 {
		t.Logf("failed invocations, by message: %v", sortedCounts(d.errSample))
	}
	for i, msg := range v.violations {
		if i == 30 {
			t.Errorf("... and %d more violations", len(v.violations)-i)
			break
		}
		t.Error(msg)
	}
	// A scenario that injected nothing proved nothing.
	switch {
	case h.sc.faults.ThrottleRate > 0 && (rep.Throttled == 0 || rep.ServerErrors == 0):
		t.Errorf("no throttling or 5xx was injected (%d, %d)", rep.Throttled, rep.ServerErrors)
	case h.sc.faults.LostCreateRate > 0 && rep.Lost == 0:
		t.Error("no answer was lost")
	case h.sc.brokerOutage && rep.BrokerOutages == 0:
		t.Error("the broker was never stopped")
	case h.sc.dbRestart && rep.DBRestarts == 0:
		t.Error("the database was never restarted")
	case h.sc.processes && rep.Kills == 0:
		t.Error("no process was killed")
	case h.sc.maxPayload > 0 && rep.Parked == 0:
		t.Error("no outcome was refused by the broker")
	case h.sc.credentialsOutage > 0 && rep.CredentialRefusals == 0:
		t.Error("no call was refused for its credentials")
	}
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %5d× %s", m[k], k)
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// newApps builds n instances of the pipeline with app.New, as each
// function's main does, on the harness's store, broker and API.
func (h *harness) newApps(n int) []*app.App {
	cfg := h.stack.AppConfig()
	var apps []*app.App
	for i := range n {
		apps = append(apps, h.stack.NewApp(cfg, app.NewLogger(cfg, h.logs).With("instance", i)))
	}
	return apps
}

// instances is how many instances of each function run side by side in
// process, sharing the store, the broker and the API, as a platform scales
// a function out.
const instances = 2

// runInProcess wires the pipeline with app.New, as the functions do, twice
// (two instances), and drives it through the scenario.
func runInProcess(t *testing.T, sc scenario, sz size) report {
	storeKind := "sqlite"
	if sc.dbRestart {
		storeKind = "postgres"
	}
	h := newHarness(t, sc, sz, storeKind)
	if sc.dbRestart {
		// Registered after the harness, so it runs before the schema is
		// dropped.
		raw := os.Getenv(testenv.PostgresEnv)
		t.Cleanup(func() { ensurePostgresRunning(t, raw) })
	}
	apps := h.newApps(instances)
	if err := h.api.sim.SetFaults(sc.faults); err != nil {
		t.Fatal(err)
	}

	tk := startTicker(150*time.Millisecond, instances, func(ctx context.Context) (reconcile.Report, error) {
		a := apps[rand.IntN(len(apps))]
		ctx, cancel := context.WithTimeout(ctx, reconcileTimeout)
		defer cancel()
		return a.Reconcile.Tick(ctx, reconcile.Options{})
	})
	stopTicking := sync.OnceValue(func() *ticker { tk.stop(); return tk })
	defer stopTicking()

	var rep report
	d := &driver{
		workers: 16, maxAttempts: cmp.Or(sc.attempts, 40),
		invoke: func(ctx context.Context, payload []byte) error {
			a := apps[rand.IntN(len(apps))]
			ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
			defer cancel()
			_, err := a.ProvisionHandler()(ctx, payload)
			return err
		},
	}
	var outage sync.WaitGroup
	var once sync.Once
	d.progress = func(done, total int) {
		switch {
		case sc.brokerOutage && done >= total/5:
			once.Do(func() {
				h.stack.StopBroker()
				outage.Add(1)
				time.AfterFunc(2*time.Second, func() { h.stack.StartBroker(); outage.Done() })
			})
		case sc.credentialsOutage > 0 && done >= total/5:
			once.Do(func() {
				old, err := h.api.sim.RotateAccessKey(vpcsim.DefaultAccessKeyID, "rotated-by-the-fault-suite")
				if err != nil {
					t.Errorf("rotate the key: %v", err)
					return
				}
				outage.Add(1)
				time.AfterFunc(sc.credentialsOutage, func() {
					defer outage.Done()
					if _, err := h.api.sim.RotateAccessKey(vpcsim.DefaultAccessKeyID, old); err != nil {
						t.Errorf("put the key back: %v", err)
					}
				})
			})
		case sc.dbRestart && done >= total/3:
			once.Do(func() {
				outage.Add(1)
				go func() {
					defer outage.Done()
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					if err := pgctl(ctx, "restart"); err != nil {
						t.Errorf("restart PostgreSQL: %v", err)
						return
					}
					rep.DBRestarts++
				}()
			})
		}
	}
	d.run(context.Background(), h.payloads)
	outage.Wait()
	h.finish(&rep, d, stopTicking)
	return rep
}
