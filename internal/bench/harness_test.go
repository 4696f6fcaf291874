package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the schema each PostgreSQL run gets

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// postgresEnv names the PostgreSQL server the postgres variants run against.
const postgresEnv = "VPNGW_TEST_POSTGRES_URL"

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
	atExit.run()
	os.Exit(code)
}

// closers runs cleanup functions once, last registered first.
type closers struct {
	mu sync.Mutex
	fs []func()
}

func (c *closers) add(f func()) {
	c.mu.Lock()
	c.fs = append(c.fs, f)
	c.mu.Unlock()
}

func (c *closers) run() {
	c.mu.Lock()
	fs := c.fs
	c.fs = nil
	c.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

var atExit closers

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
	srv  *httptest.Server
	busy atomic.Int64 // nanoseconds spent in the handler

	inFlight, maxIn atomic.Int64 // calls being answered now, and at most
}

func newEmulator(opts ...vpcsim.Option) *emulator {
	opts = append([]vpcsim.Option{
		vpcsim.WithRateLimits(map[string]int{}),
		vpcsim.WithGatewayQuota(0),
	}, opts...)
	e := &emulator{api: vpcsim.New(opts...)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		n := e.inFlight.Add(1)
		for m := e.maxIn.Load(); n > m && !e.maxIn.CompareAndSwap(m, n); m = e.maxIn.Load() {
		}
		e.api.ServeHTTP(w, r)
		e.inFlight.Add(-1)
		e.busy.Add(int64(time.Since(t0)))
	}))
	return e
}

// maxInFlight is the most calls the emulator answered at once.
func (e *emulator) maxInFlight() int64 { return e.maxIn.Load() }

// busyTime is the time the emulator has spent answering so far.
func (e *emulator) busyTime() time.Duration { return time.Duration(e.busy.Load()) }

// host is what an SDK request's Domain takes.
func (e *emulator) host() string { return strings.TrimPrefix(e.srv.URL, "http://") }

func (e *emulator) Close() { e.srv.Close() }

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

// postgresURL returns the server URL in postgresEnv, skipping when it is
// unset, except under CI=true, where a missing server is a failure.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(postgresEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set; CI must run against a real PostgreSQL", postgresEnv)
		}
		tb.Skipf("%s is not set; skipping the PostgreSQL variant", postgresEnv)
	}
	return u
}

// postgresSchema creates an empty schema on the server at base and returns a
// store URL that selects it, and a function that drops it.
func postgresSchema(base string) (string, func(), error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", postgresEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("PostgreSQL at %s is unreachable: %w", postgresEnv, err)
	}
	schema := fmt.Sprintf("vpngw_bench_%d_%d", os.Getpid(), runSeq.Add(1))
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	drop := func() {
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("%s: %w", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// stack is vpngw wired as a function instance is (app.New, the function
// configuration read from variables) around in-process servers: the
// emulator, an embedded NATS JetStream, and a SQLite file or a PostgreSQL
// schema of its own.
type stack struct {
	clock *testclock.Clock // nil: the wall clock
	emu   *emulator
	nats  *natsembed.Embedded
	app   *app.App
	dir   string
	done  closers
}

// newStack builds a stack on storeKind ("sqlite" or "postgres"). The client
// side rate limit is off (VPNGW_API_RATES with zeros), like the emulator's.
func newStack(tb testing.TB, storeKind string, clk *testclock.Clock, simOpts ...vpcsim.Option) *stack {
	tb.Helper()
	var pgBase string
	if storeKind == "postgres" {
		pgBase = postgresURL(tb) // may skip: before anything is started
	}
	s := &stack{clock: clk}
	fail := func(format string, args ...any) {
		tb.Helper()
		s.Close()
		tb.Fatalf(format, args...)
	}
	dir, err := os.MkdirTemp("", "vpngw-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	s.dir = dir
	s.done.add(func() { os.RemoveAll(dir) })

	var storeURL string
	switch storeKind {
	case "sqlite":
		storeURL = "sqlite://" + filepath.Join(dir, "vpngw.db")
	case "postgres":
		u, drop, err := postgresSchema(pgBase)
		if err != nil {
			fail("%v", err)
		}
		s.done.add(drop)
		storeURL = u
	default:
		fail("unknown store %q", storeKind)
	}

	now := time.Now
	if clk != nil {
		now = clk.Now
		simOpts = append([]vpcsim.Option{vpcsim.WithClock(clk.Now)}, simOpts...)
	}
	s.emu = newEmulator(simOpts...)
	s.done.add(s.emu.Close)

	n, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: filepath.Join(dir, "nats")})
	if err != nil {
		fail("embedded NATS: %v", err)
	}
	s.nats = n
	s.done.add(n.Shutdown)

	env := map[string]string{
		"VPNGW_STORE_URL":                 storeURL,
		"VPNGW_QUEUE_URL":                 n.ClientURL(),
		"VPNGW_VPC_ENDPOINT":              s.emu.srv.URL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     vpcsim.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": vpcsim.DefaultAccessKeySecret,
		"VPNGW_API_RATES":                 "CreateVpnGateway=0,DescribeVpnGateways=0",
		"VPNGW_POLICY_INLINE":             benchPolicy,
		// Local services in plaintext, and a schema of the test's own that
		// the function migrates itself.
		"VPNGW_ALLOW_INSECURE_TRANSPORT": "1",
		"VPNGW_MIGRATE":                  "on",
	}
	cfg, err := app.FromEnv(func(k string) string { return env[k] }, app.Function)
	if err != nil {
		fail("configuration: %v", err)
	}
	// Logs are formatted as in a function (JSON, info) and thrown away:
	// formatting them is part of vpngw's work, writing them is the platform's.
	a, err := app.New(context.Background(), cfg, app.NewLogger(cfg, io.Discard), app.WithClock(now))
	if err != nil {
		fail("app.New: %v", err)
	}
	s.app = a
	s.done.add(func() { a.Close() })
	return s
}

func (s *stack) Close() { s.done.run() }

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

// percentile is the nearest-rank percentile p (0 < p <= 100) of ds; ds is
// not modified.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(float64(len(s)) * p / 100))
	return s[min(max(rank, 1), len(s))-1]
}

// reportLatencies reports the rate and latency of the ops timed in ds, run
// one after another in the benchmark loop.
func reportLatencies(b *testing.B, ds []time.Duration) {
	b.ReportMetric(float64(len(ds))/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(percentile(ds, 50)), "p50-ns")
	b.ReportMetric(float64(percentile(ds, 99)), "p99-ns")
}
