package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// stack is the application wired with in-process parts: the VPC API emulator
// over real HTTP, a SQLite store in a temporary directory and an embedded
// NATS server with a plain subscriber. It is the component-test twin of the
// local stack.
type stack struct {
	t        *testing.T
	clock    *testclock.Clock
	api      *vpcsim.Server
	app      *App
	nats     *natsembed.Embedded
	natsDir  string
	natsPort int
	// natsMaxPayload is the embedded server's max_payload (0: the default).
	natsMaxPayload int32
	mu             sync.Mutex
	got            []receivedEvent
	logs           *syncBuffer
	log            *slog.Logger
	sub            *nats.Conn
}

type receivedEvent struct {
	ID, Type, Subject string
	TraceParent       string `json:"traceparent"`
	Data              json.RawMessage
}

func newStack(t *testing.T, simOpts ...vpcsim.Option) *stack {
	return newStackEnv(t, nil, simOpts...)
}

// newStackEnv is newStack with extra environment variables.
func newStackEnv(t *testing.T, extraEnv map[string]string, simOpts ...vpcsim.Option) *stack {
	t.Helper()
	return newStackNATS(t, 0, extraEnv, simOpts...)
}

// newStackNATS is newStackEnv with a NATS server that takes messages of up
// to maxPayload bytes (0: NATS's default, 1 MiB).
func newStackNATS(t *testing.T, maxPayload int32, extraEnv map[string]string, simOpts ...vpcsim.Option) *stack {
	t.Helper()
	s := &stack{t: t, clock: testclock.New(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)), natsMaxPayload: maxPayload}
	dir := t.TempDir()
	simOpts = append([]vpcsim.Option{
		vpcsim.WithClock(s.clock.Now),
		vpcsim.WithProvisioningDelay(2 * time.Minute),
		vpcsim.WithRateLimits(map[string]int{}),
	}, simOpts...)
	s.api = vpcsim.New(simOpts...)
	srv := httptest.NewServer(s.api)
	t.Cleanup(srv.Close)

	s.natsDir = filepath.Join(dir, "nats")
	n, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: s.natsDir, MaxPayload: maxPayload})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.nats.Shutdown() })
	s.nats, s.natsPort = n, n.Port()
	nc, err := nats.Connect(n.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s.sub = nc
	if _, err := nc.Subscribe("vpngw.>", func(m *nats.Msg) {
		var ev receivedEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Errorf("subscriber: %v", err)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, ev)
		s.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{
		"VPNGW_STORE_URL":                 "sqlite://" + filepath.Join(dir, "vpngw.db"),
		"VPNGW_QUEUE_URL":                 n.ClientURL(),
		"VPNGW_VPC_ENDPOINT":              srv.URL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     vpcsim.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": vpcsim.DefaultAccessKeySecret,
		"VPNGW_API_RATES":                 "CreateVpnGateway=0,DescribeVpnGateways=0",
		"VPNGW_POLICY_INLINE":             LocalPolicy,
		// Local services in plaintext, and a schema of the test's own that
		// the function migrates itself.
		"VPNGW_ALLOW_INSECURE_TRANSPORT": "1",
		"VPNGW_MIGRATE":                  "on",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	cfg, err := FromEnv(func(k string) string { return env[k] }, Function)
	if err != nil {
		t.Fatal(err)
	}
	s.logs = &syncBuffer{}
	var logOut io.Writer = s.logs
	if testing.Verbose() {
		logOut = io.MultiWriter(s.logs, os.Stderr)
	}
	s.log = logging.New(logOut, "json", nil)
	a, err := New(context.Background(), cfg, s.log, WithClock(s.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	s.app = a
	return s
}

// events waits until the subscriber has seen n events (or a second passed)
// and returns what it saw.
func (s *stack) events(n int) []receivedEvent {
	// Every publish was acknowledged before this is called; a round trip on
	// the subscriber's connection makes the server hand over what it routed,
	// and the client's callback may still be working through its queue, so
	// wait until the count stops growing (and reaches n).
	_ = s.sub.FlushTimeout(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	last := -1
	for {
		s.mu.Lock()
		got := append([]receivedEvent(nil), s.got...)
		s.mu.Unlock()
		if (len(got) >= n && len(got) == last) || time.Now().After(deadline) {
			return got
		}
		last = len(got)
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *stack) eventsOfType(typ string) []receivedEvent {
	var out []receivedEvent
	for _, e := range s.events(0) {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// restartBroker brings the embedded NATS back on the same port and store.
func (s *stack) restartBroker() {
	s.t.Helper()
	n, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: s.natsDir, Port: s.natsPort, MaxPayload: s.natsMaxPayload})
	if err != nil {
		s.t.Fatal(err)
	}
	s.nats = n
}

// streamEvents reads every event the JetStream stream holds, as a consumer
// that was not connected at publish time would.
func (s *stack) streamEvents() []receivedEvent {
	s.t.Helper()
	nc, err := nats.Connect(s.nats.ClientURL())
	if err != nil {
		s.t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, queue.DefaultStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		s.t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []receivedEvent
	for range info.NumPending {
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			s.t.Fatal(err)
		}
		var ev receivedEvent
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// syncBuffer is a log or terminal written while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
