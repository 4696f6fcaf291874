// Package apptest is the component-test twin of vpngw: one call starts the
// whole stack in the process, as the functions and the local stack wire it
// (app.New with a Config read from variables), around in-process parts:
//
//   - the VPC API emulator (internal/vpcsim) over loopback HTTP, on a test
//     clock unless the test asks for the wall clock;
//   - an embedded NATS server with JetStream (internal/queue/natsembed) that
//     can be stopped and started again on the same port and files, and a
//     plain subscriber that records every event published;
//   - a store of the test's own: a SQLite file, or a fresh PostgreSQL schema
//     or MySQL database (internal/testenv);
//   - the application itself, unless the test runs the built function
//     binaries against the same parts (WithoutApp).
//
// Every component test, the benchmarks, the fault suite and the function
// tests start their stack here (the model is wild-workouts'
// NewComponentTestApplication). Tests import it; no function binary may link
// it (functions/startup_test.go lists it among the test-only packages).
package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"

	_ "github.com/vpngw/vpngw/internal/store/sqlstore/sqlite" // the twin's default store is an SQLite file
)

// Start is the moment the test clock starts at.
var Start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// Option changes what New starts.
type Option func(*options)

type options struct {
	env        map[string]string
	sim        []vpcsim.Option
	wrap       func(http.Handler) http.Handler
	maxPayload int32
	storeKind  string
	storeURL   string
	clock      *testclock.Clock
	wallClock  bool
	noApp      bool
	timer      bool
	apiSpeed   float64
	logOut     io.Writer
	detached   bool
	sinks      []string
}

// WithEnv sets configuration variables over the stack's own (a value of ""
// unsets one).
func WithEnv(env map[string]string) Option {
	return func(o *options) {
		if o.env == nil {
			o.env = map[string]string{}
		}
		maps.Copy(o.env, env)
	}
}

// WithSinks adds sinks to VPNGW_QUEUE_URL after the stack's broker, which
// stays the first: URLs, or name=url for a sink that policy rules route to.
func WithSinks(sinks ...string) Option {
	return func(o *options) { o.sinks = append(o.sinks, sinks...) }
}

// WithEmulator passes options to the emulator, after the stack's own (no
// rate limit; on the test clock, gateways provisioning for two minutes), so
// that they win.
func WithEmulator(opts ...vpcsim.Option) Option {
	return func(o *options) { o.sim = append(o.sim, opts...) }
}

// WithEmulatorHandler puts wrap around the emulator's HTTP handler: a tap
// that counts or times what reaches it.
func WithEmulatorHandler(wrap func(http.Handler) http.Handler) Option {
	return func(o *options) { o.wrap = wrap }
}

// WithNATSMaxPayload makes the broker take messages of at most n bytes
// (0: NATS's default, 1 MiB).
func WithNATSMaxPayload(n int32) Option { return func(o *options) { o.maxPayload = n } }

// WithStore chooses the store: "sqlite" (the default, a file), "postgres"
// (a fresh schema on VPNGW_TEST_POSTGRES_URL) or "mysql" (a fresh database
// on VPNGW_TEST_MYSQL_URL). A server that is not named skips the test, or
// fails it under CI=true.
func WithStore(kind string) Option { return func(o *options) { o.storeKind = kind } }

// WithStoreURL uses a store the test prepared itself.
func WithStoreURL(u string) Option { return func(o *options) { o.storeURL = u } }

// WithClock runs the emulator and the application on c.
func WithClock(c *testclock.Clock) Option {
	return func(o *options) { o.clock, o.wallClock = c, false }
}

// WithWallClock runs the emulator and the application on the wall clock:
// for processes, which cannot share a test clock, and for benchmarks.
func WithWallClock() Option { return func(o *options) { o.clock, o.wallClock = nil, true } }

// WithReconcileTimer lets reconcile ticks keep checking on the test clock
// while gateways are pending (reconcile.DefaultSchedule), sleeping on it: a
// stopped clock is advanced by each sleep, a running one
// (testclock.NewRunning) is waited for; on the wall clock, the wall clock
// is. Without it, a stack's ticks check once each, as a component test
// that runs a tick expects one round.
func WithReconcileTimer() Option { return func(o *options) { o.timer = true } }

// WithAPIClockSpeed tells the application that the emulator's clock runs
// speed times the wall clock (vpcsim.WithClockSpeed): the client learns
// the API's quota from throttling on that clock (app.WithAPIClockSpeed).
func WithAPIClockSpeed(speed float64) Option { return func(o *options) { o.apiSpeed = speed } }

// WithoutApp starts the parts but no application: the test runs the built
// function binaries against them (Environ).
func WithoutApp() Option { return func(o *options) { o.noApp = true } }

// WithLogOutput sends the application's log lines to w instead of Logs.
func WithLogOutput(w io.Writer) Option { return func(o *options) { o.logOut = w } }

// Detached ties the stack to no test: it lives until Close, in a temporary
// directory of its own. Benchmarks share such stacks across runs.
func Detached() Option { return func(o *options) { o.detached = true } }

// Stack is the application wired with in-process parts.
type Stack struct {
	// Clock is the test clock the emulator and the application run on; nil
	// on the wall clock.
	Clock *testclock.Clock
	// API is the emulator, APIURL its endpoint.
	API    *vpcsim.Server
	APIURL string
	// App is the application (nil with WithoutApp).
	App *app.App
	// Env is the configuration as variables, without credentials: what a
	// function binary is started with (see Environ).
	Env map[string]string
	// StoreKind is "sqlite", "postgres" or "mysql"; StoreURL the store.
	StoreKind, StoreURL string
	// Logs holds the application's log lines (unless WithLogOutput); Log
	// writes there.
	Logs *testenv.SyncBuffer
	Log  *slog.Logger
	// Dir is the stack's temporary directory.
	Dir string

	tb         testing.TB
	natsDir    string
	natsPort   int
	maxPayload int32

	timer    bool    // WithReconcileTimer
	apiSpeed float64 // WithAPIClockSpeed
	mu       sync.Mutex
	nats     *natsembed.Embedded
	sub      *nats.Conn
	msgs     [][]byte
	outages  int
	closers  testenv.Closers
}

// New starts the stack. Everything it started is closed at the test's
// cleanup (or by Close, with Detached).
func New(tb testing.TB, opts ...Option) *Stack {
	tb.Helper()
	o := options{storeKind: "sqlite"}
	for _, f := range opts {
		f(&o)
	}
	if o.clock == nil && !o.wallClock {
		o.clock = testclock.New(Start)
	}
	s := &Stack{tb: tb, Clock: o.clock, timer: o.timer, apiSpeed: o.apiSpeed, maxPayload: o.maxPayload, StoreKind: o.storeKind, Logs: &testenv.SyncBuffer{}}
	if !o.detached {
		tb.Cleanup(s.Close)
	}
	fail := func(format string, args ...any) {
		tb.Helper()
		if o.detached {
			s.Close()
		}
		tb.Fatalf(format, args...)
	}

	// A store on an outside server first: a test without one is skipped
	// before anything is started.
	storeURL := o.storeURL
	if storeURL == "" && o.storeKind != "sqlite" {
		if o.detached {
			u, drop, err := freshStore(testenv.URL(tb, envOf(o.storeKind)), o.storeKind)
			if err != nil {
				fail("%s: a store of the test's own: %v", envOf(o.storeKind), err)
			}
			s.Cleanup(func() { _ = drop() })
			storeURL = u
		} else {
			storeURL = testenv.StoreURL(tb, o.storeKind)
		}
	}
	if o.detached {
		dir, err := os.MkdirTemp("", "vpngw-apptest-")
		if err != nil {
			fail("%v", err)
		}
		s.Cleanup(func() { os.RemoveAll(dir) })
		s.Dir = dir
	} else {
		s.Dir = tb.TempDir()
	}
	if storeURL == "" {
		storeURL = "sqlite://" + filepath.Join(s.Dir, "vpngw.db")
	}
	s.StoreURL = storeURL

	sim := []vpcsim.Option{vpcsim.WithRateLimits(map[string]int{})}
	if s.Clock != nil {
		sim = append(sim, vpcsim.WithClock(s.Clock.Now), vpcsim.WithProvisioningDelay(2*time.Minute), vpcsim.WithDeletionDelay(30*time.Second))
	}
	s.API = vpcsim.New(append(sim, o.sim...)...)
	var h http.Handler = s.API
	if o.wrap != nil {
		h = o.wrap(h)
	}
	srv := httptest.NewServer(h)
	s.Cleanup(srv.Close)
	s.APIURL = srv.URL

	s.natsDir = filepath.Join(s.Dir, "nats")
	n, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: s.natsDir, MaxPayload: o.maxPayload})
	if err != nil {
		fail("embedded NATS: %v", err)
	}
	s.nats, s.natsPort = n, n.Port()
	s.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.nats != nil {
			s.nats.Shutdown()
		}
	})
	if err := s.subscribe(); err != nil {
		fail("subscriber: %v", err)
	}

	s.Env = map[string]string{
		"VPNGW_STORE_URL":     storeURL,
		"VPNGW_QUEUE_URL":     s.BrokerURL(),
		"VPNGW_VPC_ENDPOINT":  srv.URL,
		"VPNGW_API_RATES":     "CreateVpnGateway=0,DescribeVpnGateways=0",
		"VPNGW_POLICY_INLINE": app.LocalPolicy,
		// Local services in plaintext, and a store of the test's own that
		// the application migrates itself.
		"VPNGW_ALLOW_INSECURE_TRANSPORT": "1",
		"VPNGW_MIGRATE":                  "on",
	}
	for k, v := range o.env {
		if v == "" {
			delete(s.Env, k)
			continue
		}
		s.Env[k] = v
	}
	if len(o.sinks) > 0 {
		s.Env["VPNGW_QUEUE_URL"] = strings.Join(append([]string{s.BrokerURL()}, o.sinks...), ",")
	}
	if o.noApp {
		return s
	}
	cfg := s.AppConfig()
	var logOut io.Writer = s.Logs
	switch {
	case o.logOut != nil:
		logOut = o.logOut
	case testing.Verbose():
		logOut = io.MultiWriter(s.Logs, os.Stderr)
	}
	s.Log = app.NewLogger(cfg, logOut)
	a, err := s.newApp(cfg, s.Log)
	if err != nil {
		fail("app.New: %v", err)
	}
	s.App = a
	return s
}

func envOf(kind string) string {
	if kind == "mysql" {
		return testenv.MySQLEnv
	}
	return testenv.PostgresEnv
}

func freshStore(server, kind string) (string, func() error, error) {
	switch kind {
	case "postgres":
		return testenv.PostgresSchema(server, "vpngw_test")
	case "mysql":
		return testenv.MySQLDatabase(server, "vpngw_test")
	}
	return "", nil, fmt.Errorf("unknown store kind %q: want sqlite, postgres or mysql", kind)
}

// AppConfig is the application's configuration: Env, read as a function
// reads its variables. In process there is no function role, so the
// application signs with the emulator's key unless Env names one.
func (s *Stack) AppConfig() app.Config {
	s.tb.Helper()
	env := map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     vpcsim.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": vpcsim.DefaultAccessKeySecret,
	}
	maps.Copy(env, s.Env)
	cfg, err := app.FromEnv(func(k string) string { return env[k] }, app.Function)
	if err != nil {
		s.tb.Fatalf("configuration: %v", err)
	}
	return cfg
}

// Now is the stack's time: the test clock's, or the wall clock's.
func (s *Stack) Now() time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now()
}

func (s *Stack) newApp(cfg app.Config, log *slog.Logger) (*app.App, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := []app.Option{app.WithClock(s.Now), app.WithAPIClockSpeed(s.apiSpeed)}
	switch {
	case s.timer && s.Clock != nil:
		opts = append(opts, app.WithTimer(s.Clock.Sleep, s.Clock.Speed()))
	case s.timer:
		opts = append(opts, app.WithTimer(reconcile.SleepWall, 1))
	}
	a, err := app.New(ctx, cfg, log, opts...)
	if err != nil {
		return nil, err
	}
	s.Cleanup(func() { a.Close() })
	return a, nil
}

// NewApp builds another instance of the application from cfg on the same
// parts and clock, as a platform scales a function out; it is closed with
// the stack.
func (s *Stack) NewApp(cfg app.Config, log *slog.Logger) *app.App {
	s.tb.Helper()
	a, err := s.newApp(cfg, log)
	if err != nil {
		s.tb.Fatalf("app.New: %v", err)
	}
	return a
}

// Environ is the configuration as a function process's environment, sorted,
// with PATH and the extra variables given.
func (s *Stack) Environ(extra ...string) []string {
	var env []string
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return append(append(env, "PATH="+os.Getenv("PATH")), extra...)
}

// Cleanup registers f to run at Close, before what was started earlier.
func (s *Stack) Cleanup(f func()) { s.closers.Add(f) }

// Close stops everything the stack started, last started first. Calling it
// again does nothing.
func (s *Stack) Close() { s.closers.Run() }

// Event is an event as a consumer reads it.
type Event struct {
	ID, Type, Source, Subject string
	TraceParent               string `json:"traceparent"`
	Data                      json.RawMessage
}

// ParseEvent reads a CloudEvent published on the broker.
func ParseEvent(body []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("event %q: %w", body, err)
	}
	return ev, nil
}
