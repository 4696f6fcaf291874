package queue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/testenv"
)

func TestEmbeddedNATSContract(t *testing.T) {
	queuetest.Run(t, queuetest.EmbeddedNATS(t))
}

func TestEmbeddedNATSRestart(t *testing.T) {
	queuetest.RunRestart(t, queuetest.EmbeddedNATS(t), queuetest.RestartOptions{})
}

func TestSystemNATSContract(t *testing.T) {
	queuetest.Run(t, queuetest.NATS(t, testenv.URL(t, testenv.NATSEnv)))
}

// TestSystemNATSRestart stops and starts the machine's NATS service, so it
// runs only when VPNGW_TEST_BROKER_RESTART=1 asks for it.
func TestSystemNATSRestart(t *testing.T) {
	b := queuetest.NATS(t, testenv.URL(t, testenv.NATSEnv))
	requireRestartOptIn(t)
	server := natsServerURL(t, os.Getenv("VPNGW_TEST_NATS_URL"))
	b.Stop = func(t *testing.T) {
		run(t, "start-stop-daemon", "--stop", "--oknodo", "--retry", "10", "--exec", "/usr/sbin/nats-server")
	}
	b.Start = func(t *testing.T) {
		run(t, "start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/nats-server", "--",
			"-a", "127.0.0.1", "-p", "4222", "-js", "-sd", "/var/lib/nats-server", "-l", "/var/log/nats-server.log")
		waitForJetStream(t, server)
	}
	queuetest.RunRestart(t, b, queuetest.RestartOptions{})
}

func requireRestartOptIn(t *testing.T) {
	t.Helper()
	if os.Getenv("VPNGW_TEST_BROKER_RESTART") != "1" {
		t.Skip("restarts the machine's broker service; set VPNGW_TEST_BROKER_RESTART=1 to run it")
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s took %s", name, args[0], time.Since(start).Round(time.Millisecond))
}

func natsServerURL(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path, u.RawQuery = "", ""
	return u.String()
}

func waitForJetStream(t *testing.T, server string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := func() error {
			nc, err := nats.Connect(server, nats.Timeout(time.Second))
			if err != nil {
				return err
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err = js.AccountInfo(ctx)
			return err
		}()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("NATS at %s has no JetStream 20 s after start: %v", server, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startEmbedded runs an embedded server for one test.
func startEmbedded(t *testing.T) *natsembed.Embedded {
	t.Helper()
	e, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

func jetStreamFor(t *testing.T, server string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(server)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func open(t *testing.T, rawURL string) queue.Publisher {
	t.Helper()
	p, err := queue.Open(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("Open(%s): %v", rawURL, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func publish(t *testing.T, p queue.Publisher, m outgoing.Event) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Publish(ctx, m)
}

func TestNATSDefaultsSubjectAndStream(t *testing.T) {
	e := startEmbedded(t)
	p := open(t, e.ClientURL())
	m := queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1)
	if err := publish(t, p, m); err != nil {
		t.Fatal(err)
	}
	js := jetStreamFor(t, e.ClientURL())
	ctx := context.Background()
	s, err := js.Stream(ctx, queue.DefaultStream)
	if err != nil {
		t.Fatalf("default stream: %v", err)
	}
	cfg := s.CachedInfo().Config
	if !slices.Equal(cfg.Subjects, []string{"vpngw.>"}) || cfg.Storage != jetstream.FileStorage || cfg.Duplicates != queue.DefaultDuplicateWindow {
		t.Errorf("stream config: subjects %v, storage %v, duplicates %s", cfg.Subjects, cfg.Storage, cfg.Duplicates)
	}
	got, err := s.GetLastMsgForSubject(ctx, "vpngw.io.vpngw.gateway.active")
	if err != nil {
		t.Fatalf("message on the default subject: %v", err)
	}
	if got.Header.Get("Nats-Msg-Id") != "id-1" || string(got.Data) != string(m.Body) {
		t.Errorf("stored message: id %q, body %s", got.Header.Get("Nats-Msg-Id"), got.Data)
	}
}

func TestNATSKeepsOperatorStreamSettings(t *testing.T) {
	e := startEmbedded(t)
	js := jetStreamFor(t, e.ClientURL())
	ctx := context.Background()
	// An operator made the stream first, for other subjects, with retention
	// limits vpngw must not undo, and a shorter duplicate window.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "EVENTS", Subjects: []string{"other.>"}, MaxAge: time.Hour, MaxMsgs: 1000,
		Duplicates: time.Minute, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	p := open(t, e.ClientURL()+"/acme.vpngw?stream=EVENTS")
	if err := publish(t, p, queuetest.NewMessage("id-1", "io.vpngw.gateway.failed", 1)); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if !slices.Equal(cfg.Subjects, []string{"other.>", "acme.vpngw.>"}) {
		t.Errorf("subjects %v, want the operator's plus acme.vpngw.>", cfg.Subjects)
	}
	if cfg.MaxAge != time.Hour || cfg.MaxMsgs != 1000 {
		t.Errorf("operator limits changed: max age %s, max msgs %d", cfg.MaxAge, cfg.MaxMsgs)
	}
	// Widened to the default two hours, capped by the one-hour age limit.
	if cfg.Duplicates != time.Hour {
		t.Errorf("duplicate window %s, want 1h", cfg.Duplicates)
	}
	if s.CachedInfo().State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", s.CachedInfo().State.Msgs)
	}
}

func TestNATSCreateFalseNeedsAStream(t *testing.T) {
	e := startEmbedded(t)
	p := open(t, e.ClientURL()+"?create=false")
	start := time.Now()
	err := publish(t, p, queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1))
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("got %v, want no stream response", err)
	}
	if errors.Is(err, queue.ErrRefused) {
		t.Errorf("got %v: a missing stream refuses every event until it is made, not this one for good", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s to report a missing stream", took)
	}
	if _, err := jetStreamFor(t, e.ClientURL()).Stream(context.Background(), queue.DefaultStream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("create=false created a stream: %v", err)
	}
}

func TestNATSRecreatesDeletedStream(t *testing.T) {
	e := startEmbedded(t)
	p := open(t, e.ClientURL())
	if err := publish(t, p, queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1)); err != nil {
		t.Fatal(err)
	}
	js := jetStreamFor(t, e.ClientURL())
	if err := js.DeleteStream(context.Background(), queue.DefaultStream); err != nil {
		t.Fatal(err)
	}
	if err := publish(t, p, queuetest.NewMessage("id-2", "io.vpngw.gateway.active", 2)); err != nil {
		t.Fatalf("publish after the stream was deleted: %v", err)
	}
	s, err := js.Stream(context.Background(), queue.DefaultStream)
	if err != nil {
		t.Fatalf("stream not recreated: %v", err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("recreated stream holds %d messages, want 1", n)
	}
}

// silentServer accepts TCP connections and never says a word, like a broker
// that hangs; it returns its address.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(done)
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestPublishWithoutBrokerReturnsWithinContext covers a broker that refuses
// connections and one that accepts and then hangs: Publish must fail, and
// must not outlast its context.
func TestPublishWithoutBrokerReturnsWithinContext(t *testing.T) {
	const budget = 700 * time.Millisecond
	for _, c := range []struct{ name, url string }{
		{"nats refused", "nats://" + closedPort(t)},
		{"nats silent", "nats://" + silentServer(t)},
		{"amqp refused", "amqp://guest:guest@" + closedPort(t) + "/"},
		{"amqp silent", "amqp://guest:guest@" + silentServer(t) + "/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := open(t, c.url)
			for attempt := range 2 { // the second finds no half-open state
				ctx, cancel := context.WithTimeout(context.Background(), budget)
				start := time.Now()
				err := p.Publish(ctx, queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1))
				took := time.Since(start)
				cancel()
				if err == nil {
					t.Fatalf("attempt %d: Publish without a broker succeeded", attempt)
				}
				if took > budget+500*time.Millisecond {
					t.Errorf("attempt %d: Publish took %s with a %s context: %v", attempt, took, budget, err)
				}
			}
		})
	}
}

func TestEmbeddedOptions(t *testing.T) {
	if natsembed.DefaultEmbeddedPort == 4222 {
		t.Fatal("the embedded default port must not be NATS's usual 4222")
	}
	if _, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{}); err == nil {
		t.Error("StartEmbedded without a Dir succeeded")
	}
	e := startEmbedded(t)
	if e.Port() == 0 || e.Port() == 4222 {
		t.Errorf("port 0 gave port %d, want a free one", e.Port())
	}
	if want := "nats://127.0.0.1:" + strconv.Itoa(e.Port()); e.ClientURL() != want {
		t.Errorf("ClientURL %s, want %s", e.ClientURL(), want)
	}
	_, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: t.TempDir(), Port: e.Port()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second server on port %d: got %v, want address already in use", e.Port(), err)
	}
	e.Shutdown()
	e.Shutdown() // harmless twice

	var logs bytes.Buffer
	logged, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	logged.Shutdown()
	if !strings.Contains(logs.String(), "component=nats-server") || !strings.Contains(logs.String(), "JetStream") {
		t.Errorf("server log lines did not reach the logger:\n%s", logs.String())
	}
}

// TestNATSStreamMaxMsgSizeIsTooLarge: an operator's stream may take smaller
// messages than the server does; JetStream's refusal of a larger one is for
// good, and the stream keeps taking the others.
func TestNATSStreamMaxMsgSizeIsTooLarge(t *testing.T) {
	e := startEmbedded(t)
	js := jetStreamFor(t, e.ClientURL())
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "SMALL", Subjects: []string{"vpngw.>"}, MaxMsgSize: 1024, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	p := open(t, e.ClientURL()+"?stream=SMALL&create=false")
	big := queuetest.NewMessage("id-big", "io.vpngw.gateway.failed", 1)
	big.Body = append([]byte(strings.Repeat(" ", 2048)), big.Body...)
	err := publish(t, p, big)
	if !errors.Is(err, queue.ErrTooLarge) || !errors.Is(err, queue.ErrRefused) {
		t.Fatalf("publish over the stream's max_msg_size: got %v, want ErrTooLarge and ErrRefused", err)
	}
	if !strings.Contains(err.Error(), "SMALL") {
		t.Errorf("error %q does not name the stream", err)
	}
	if err := publish(t, p, queuetest.NewMessage("id-ok", "io.vpngw.gateway.active", 2)); err != nil {
		t.Fatalf("publish after the refusal: %v", err)
	}
}
