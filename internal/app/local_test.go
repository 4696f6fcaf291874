package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/logging"
)

// syncBuffer is what the local stack prints to, read while it writes.
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

// The local stack does what the README promises for `make run` and its curl:
// the sample request, posted six times (five of them at once), leaves one
// gateway, and the terminal shows accepted, then active, for it, as a plain
// NATS subscriber received them.
func TestLocalStackEndToEnd(t *testing.T) {
	env := map[string]string{
		"VPNGW_DATA_DIR":           t.TempDir(),
		"VPNGW_HTTP_ADDR":          "127.0.0.1:0",
		"VPNGW_EMULATOR_ADDR":      "127.0.0.1:0",
		"VPNGW_EMULATOR_DELAY":     "300ms",
		"VPNGW_RECONCILE_INTERVAL": "100ms",
	}
	cfg, err := FromEnv(func(k string) string { return env[k] }, Local)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NATSPort = 0 // any free port, so the test never meets a running `make run`
	out := &syncBuffer{}
	l, err := StartLocal(context.Background(), cfg, logging.New(io.Discard, "text", nil), out)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	sample, err := events.Samples.ReadFile("testdata/requested.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func() int {
		resp, err := http.Post("http://"+l.HTTPAddr+"/", "application/cloudevents+json", bytes.NewReader(sample))
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusAccepted {
		t.Fatalf("first post: %d, want 202", code)
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code := post(); code != http.StatusAccepted {
				t.Errorf("repeat post: %d, want 202", code)
			}
		}()
	}
	wg.Wait()
	gws := l.Emulator.Gateways()
	if len(gws) != 1 {
		t.Fatalf("emulator holds %d gateways, want 1", len(gws))
	}
	id := gws[0].ID
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(out.String(), events.TypeActive) {
		time.Sleep(50 * time.Millisecond)
	}
	got := out.String()
	acc := strings.Index(got, events.TypeAccepted+"  id=")
	act := strings.Index(got, events.TypeActive+"  id=")
	if acc < 0 || act < acc || strings.Count(got, "subject="+id) != 2 {
		t.Fatalf("terminal shows:\n%s\nwant accepted then active for %s, once each", got, id)
	}
}
