package bench

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the schema each PostgreSQL run gets

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// The request every benchmark sends: valid against the emulator's default
// seed, in a dual-tunnel region (so two vSwitches), the shape the README's
// sample has.
const (
	benchRegion  = "cn-hangzhou"
	benchVPC     = "vpc-bp1vpngwdemo0000001"
	benchVSwitch = "vsw-bp1vpngwdemo0000001"
	benchDRVSw   = "vsw-bp1vpngwdemo0000002"
	benchBW      = 10
	benchName    = "bench-gateway"
)

// benchPolicy is the operator policy every benchmark runs under: one
// explicit rule that allows every request and sets no quota, so the policy
// is checked on every request, as it always is, and asks the store nothing.
const benchPolicy = app.LocalPolicy

// TestMain releases what benchmarks share across runs (the reconcile
// fixtures take seconds to build at 10,000 gateways, so every -count run and
// the poller reuse them) once every benchmark has finished.
func TestMain(m *testing.M) {
	code := m.Run()
	atExit.Run()
	os.Exit(code)
}

// atExit holds what benchmarks share across runs.
var atExit testenv.Closers

// runSeq makes event ids unique across every run in the process, so that no
// request of one run is a redelivery of another's.
var runSeq atomic.Int64

// emulator is the VPC API emulator over loopback HTTP, with no rate limit
// and no gateway quota: the benchmarks measure the clients, not a quota.
// It adds up the time its handler spends answering, so that a benchmark can
// tell the emulator's share of an op (it runs in the same process, on the
// same two cores) from the client's.
type emulator struct {
	api  *vpcsim.Server
	url  string
	busy atomic.Int64 // nanoseconds spent in the handler

	inFlight, maxIn atomic.Int64 // calls being answered now, and at most
	close           func()
}

// emulatorDefaults are the options every benchmark's emulator starts with.
func emulatorDefaults(opts []vpcsim.Option) []vpcsim.Option {
	return append([]vpcsim.Option{vpcsim.WithRateLimits(map[string]int{}), vpcsim.WithGatewayQuota(0)}, opts...)
}

// newEmulator is the emulator alone, for the clients compared with vpngw's.
func newEmulator(opts ...vpcsim.Option) *emulator {
	e := &emulator{api: vpcsim.New(emulatorDefaults(opts)...)}
	srv := httptest.NewServer(e.tap(e.api))
	e.url, e.close = srv.URL, srv.Close
	return e
}

// tap times every call next answers.
func (e *emulator) tap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		n := e.inFlight.Add(1)
		for m := e.maxIn.Load(); n > m && !e.maxIn.CompareAndSwap(m, n); m = e.maxIn.Load() {
		}
		next.ServeHTTP(w, r)
		e.inFlight.Add(-1)
		e.busy.Add(int64(time.Since(t0)))
	})
}

// maxInFlight is the most calls the emulator answered at once.
func (e *emulator) maxInFlight() int64 { return e.maxIn.Load() }

// busyTime is the time the emulator has spent answering so far.
func (e *emulator) busyTime() time.Duration { return time.Duration(e.busy.Load()) }

// host is what an SDK request's Domain takes.
func (e *emulator) host() string { return strings.TrimPrefix(e.url, "http://") }

func (e *emulator) Close() {
	if e.close != nil {
		e.close()
	}
}

// sdkClient is the SDK's typed VPC client, as a script or Terraform's
// provider builds it, signing with the emulator's demo key.
func sdkClient(tb testing.TB) *vpc.Client {
	tb.Helper()
	c, err := vpc.NewClientWithAccessKey(benchRegion, vpcsim.DefaultAccessKeyID, vpcsim.DefaultAccessKeySecret)
	if err != nil {
		tb.Fatalf("SDK client: %v", err)
	}
	return c
}

// stack is vpngw wired as a function instance is, by the component-test
// twin (internal/apptest), with the emulator timed: an embedded NATS
// JetStream, and a SQLite file or a PostgreSQL schema of its own. It lives
// until Close, so that fixtures can be shared across benchmark runs.
type stack struct {
	*apptest.Stack
	emu *emulator
}

// newStack builds a stack on storeKind ("sqlite" or "postgres"), on clk
// (nil: the wall clock). The client side rate limit is off (VPNGW_API_RATES
// with zeros), like the emulator's. Logs are formatted as in a function
// (JSON, info) and thrown away: formatting them is part of vpngw's work,
// writing them is the platform's.
func newStack(tb testing.TB, storeKind string, clk *testclock.Clock, simOpts ...vpcsim.Option) *stack {
	tb.Helper()
	e := &emulator{}
	opts := []apptest.Option{
		apptest.Detached(), apptest.WithStore(storeKind), apptest.WithLogOutput(io.Discard),
		apptest.WithEmulator(emulatorDefaults(simOpts)...), apptest.WithEmulatorHandler(e.tap),
		apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": benchPolicy}),
	}
	if clk != nil {
		opts = append(opts, apptest.WithClock(clk))
	} else {
		opts = append(opts, apptest.WithWallClock())
	}
	s := apptest.New(tb, opts...)
	e.api, e.url = s.API, s.APIURL
	return &stack{Stack: s, emu: e}
}

// requestData is the body of every benchmark request.
func requestData() map[string]any {
	return map[string]any{
		"RegionId": benchRegion, "VpcId": benchVPC, "Bandwidth": benchBW,
		"VSwitchId": benchVSwitch, "DisasterRecoveryVSwitchId": benchDRVSw, "Name": benchName,
	}
}

// requestEvent is a structured CloudEvent as EventBridge delivers it to a
// function.
func requestEvent(id string) []byte {
	ev := map[string]any{
		"specversion": "1.0", "id": id, "source": "acs:eventbridge:bench", "type": events.TypeRequested,
		"subject": "ticket-" + id, "time": "2026-11-25T10:00:00Z",
		"datacontenttype": "application/json;charset=utf-8",
		"aliyunaccountid": "1234567890123456", "aliyunpublishtime": "2026-11-25T10:00:00.123Z",
		"aliyuneventbusname": "vpngw", "aliyunregionid": benchRegion, "aliyunpublishaddr": "172.25.0.1",
		"data": requestData(),
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // a map of strings and ints always marshals
	}
	return b
}

// reportLatencies reports the rate and latency of the ops timed in ds, run
// one after another in the benchmark loop.
func reportLatencies(b *testing.B, ds []time.Duration) {
	b.ReportMetric(float64(len(ds))/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(testenv.Percentile(ds, 50)), "p50-ns")
	b.ReportMetric(float64(testenv.Percentile(ds, 99)), "p99-ns")
}

// processCPU is the CPU time (user and system) the process has used so far:
// the benchmark's, the in-process emulator's and NATS's together. Unlike
// the wall clock, it does not grow with what other processes on the machine
// take from the cores, so that it compares runs on a loaded machine.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per op since since (processCPU).
func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(processCPU(b)-since)/float64(b.N), "cpu-ns/op")
}
