package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/reconcile"
)

const testSinkSecret = "sink-secret-for-the-component-test"

// receivedTypes reads n events from in and returns their types.
func receivedTypes(t *testing.T, in <-chan queuetest.Received, n int) []string {
	t.Helper()
	var out []string
	for _, r := range queuetest.Receive(t, in, n) {
		out = append(out, r.Route)
	}
	return out
}

func expectNone(t *testing.T, in <-chan queuetest.Received, who string) {
	t.Helper()
	select {
	case r := <-in:
		t.Fatalf("%s received %s %s again: published twice", who, r.Route, r.ID)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestSinksOneDownOneRefusing: three sinks in VPNGW_QUEUE_URL, one up, one
// down (connection refused), one refusing the active event for good. The up
// sink gets every outcome in order without waiting; the refused event is
// parked for its sink alone; the down sink gets every outcome, in order,
// once it is back; nothing arrives twice.
func TestSinksOneDownOneRefusing(t *testing.T) {
	up := queuetest.NewHTTPReceiver(t, testSinkSecret)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := ln.Addr().String()
	ln.Close() // connection refused until the receiver comes back
	var mu sync.Mutex
	var pickyGot []string
	picky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ Type string }
		_ = json.Unmarshal(body, &ev)
		if ev.Type == events.TypeActive {
			http.Error(w, "this receiver takes no active events", http.StatusUnprocessableEntity)
			return
		}
		mu.Lock()
		pickyGot = append(pickyGot, ev.Type)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer picky.Close()
	pickyURL := picky.URL + "/picky"
	sinks := strings.Join([]string{up.URL + "/up", "http://" + downAddr + "/down", pickyURL}, ",")
	s := newStackEnv(t, map[string]string{"VPNGW_QUEUE_URL": sinks, "VPNGW_SINK_SECRET": testSinkSecret})

	if _, err := s.provision(requestEvent("evt-sinks", validData())); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(3 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if rep, _ := s.app.Reconcile.Tick(ctx, reconcile.Options{}); rep.Active != 1 {
		t.Fatalf("tick: %+v, want the gateway active", rep)
	}
	upIn := up.Path("/up")
	if got := receivedTypes(t, upIn, 2); strings.Join(got, " ") != events.TypeAccepted+" "+events.TypeActive {
		t.Fatalf("the up sink got %v, want accepted then active", got)
	}
	mu.Lock()
	if strings.Join(pickyGot, " ") != events.TypeAccepted {
		t.Fatalf("the refusing sink took %v, want accepted only", pickyGot)
	}
	mu.Unlock()
	pickyName := queue.SinkName(pickyURL)
	if n, err := s.app.Store.CountParkedFor(ctx, pickyName); err != nil || n != 1 {
		t.Fatalf("parked for the refusing sink: %d, %v; want 1", n, err)
	}
	downName := queue.SinkName("http://" + downAddr + "/down")
	if n, _ := s.app.Store.CountParkedFor(ctx, downName); n != 0 {
		t.Fatalf("parked for the down sink: %d, want 0 (down is not a refusal)", n)
	}
	if left, _ := s.app.Store.UnsentFor(ctx, downName, 10); len(left) != 2 {
		t.Fatalf("the down sink's outbox holds %d events, want 2", len(left))
	}

	// The down sink comes back.
	down := queuetest.NewHTTPReceiverAt(t, testSinkSecret, downAddr)
	if _, err := s.app.Outbox.Drain(ctx); err != nil {
		t.Fatalf("drain once every sink is up: %v", err)
	}
	if got := receivedTypes(t, down.Path("/down"), 2); strings.Join(got, " ") != events.TypeAccepted+" "+events.TypeActive {
		t.Fatalf("the sink that came back got %v, want accepted then active", got)
	}
	expectNone(t, upIn, "the up sink")
	if up.BadSignatures()+down.BadSignatures() != 0 {
		t.Fatalf("signatures that did not verify: %d", up.BadSignatures()+down.BadSignatures())
	}
	if n, _ := s.app.Store.CountParkedFor(ctx, pickyName); n != 1 {
		t.Fatalf("the refused event is no longer parked (%d)", n)
	}
}

func TestFromEnvChecksEverySink(t *testing.T) {
	for _, c := range []struct {
		name, queue, secret, want string
	}{
		{"HTTP sink without a secret", "tls://mq:4222,https://r.example/hook", "", "VPNGW_SINK_SECRET is not set"},
		{"short secret", "https://r.example/hook", "short", "at least 16"},
		{"plaintext second sink", "tls://mq:4222,mqtt://m:1883/p", "", "MQTT in plaintext"},
		{"Kafka without TLS", "tls://mq:4222,kafka://b1:9092,b2:9092/t", "", "Kafka in plaintext"},
		{"HTTP in plaintext", "http://r.example/hook", testSinkSecret, "HTTP in plaintext"},
		{"the same sink twice", "tls://mq:4222,kafka://b:9093/t?tls=true,kafka://b:9093/t?tls=true&sasl=plain", "", "name each destination once"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromEnv(functionEnv(map[string]string{"VPNGW_QUEUE_URL": c.queue, "VPNGW_SINK_SECRET": c.secret}), Function)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
			if c.secret != "" && strings.Contains(err.Error(), c.secret) {
				t.Fatalf("the error holds the secret: %v", err)
			}
		})
	}
	ok := "tls://mq:4222,https://r.example/hook?mode=binary,kafka://b1:9093,b2:9093/t?tls=true&sasl=scram-sha-512,mqtts://m:8883/p"
	if _, err := FromEnv(functionEnv(map[string]string{"VPNGW_QUEUE_URL": ok, "VPNGW_SINK_SECRET": testSinkSecret}), Function); err != nil {
		t.Fatalf("four verified sinks refused: %v", err)
	}
}
