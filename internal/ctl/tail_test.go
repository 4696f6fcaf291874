package ctl_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/testenv"
)

// tailUntil starts vpngwctl tail with args on the sink, publishes ev to the
// sink with publish every 200 ms until tail has printed a line (tail reads
// only what arrives once it has subscribed), and returns that line.
func tailUntil(t *testing.T, sinkURL string, publish func(outgoing.Event) error, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"tail", "--count", "1"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "VPNGW_QUEUE_URL=" + sinkURL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut testenv.SyncBuffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case line, ok := <-lines:
			werr := cmd.Wait()
			if !ok || werr != nil {
				t.Fatalf("tail: %v, %v\n%s", ok, werr, errOut.String())
			}
			return line
		case <-tick.C:
			id := "ev-tail-" + time.Now().Format("150405.000000")
			_ = publish(outgoing.Event{ID: id, Type: "io.vpngw.gateway.failed", Body: []byte(`{"specversion":"1.0","id":"` + id +
				`","source":"vpngw","type":"io.vpngw.gateway.failed","subject":"vpn-tail","time":"2026-11-25T10:00:00Z","datacontenttype":"application/json",` +
				`"data":{"Request":{"Source":"/ci","Id":"B-9"},"Stage":"create","Code":"QuotaExceeded","Message":"no room"}}`)})
		case <-ctx.Done():
			t.Fatalf("tail printed nothing in 30 s\n%s", errOut.String())
		}
	}
}

// tail prints each outcome in a line, or as JSON, from NATS JetStream and
// from AMQP.
func TestTail(t *testing.T) {
	t.Run("nats", func(t *testing.T) {
		s := apptest.New(t, apptest.WithWallClock())
		pub := func(e outgoing.Event) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.App.Publisher.Publish(ctx, e)
		}
		line := tailUntil(t, s.BrokerURL(), pub)
		if !strings.Contains(line, "2026-11-25T10:00:00Z  gateway.failed") || !strings.Contains(line, "/ci B-9 gateway vpn-tail: create QuotaExceeded: no room") {
			t.Errorf("tail line %q", line)
		}
		line = tailUntil(t, s.BrokerURL(), pub, "-o", "json", "--type", "*.failed")
		var e struct {
			Type string
			Data struct{ Code string }
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Type != "io.vpngw.gateway.failed" || e.Data.Code != "QuotaExceeded" {
			t.Errorf("tail -o json line %q: %v", line, err)
		}
	})
	t.Run("amqp", func(t *testing.T) {
		base := testenv.URL(t, testenv.AMQPEnv)
		sink := base + "?exchange=" + testenv.UniqueName("vpngwctl_tail")
		ctx := context.Background()
		p, err := queue.Open(ctx, sink)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		line := tailUntil(t, sink, func(e outgoing.Event) error { return p.Publish(ctx, e) })
		if !strings.Contains(line, "gateway.failed") || !strings.Contains(line, "QuotaExceeded") {
			t.Errorf("tail line %q", line)
		}
	})
	t.Run("refused sink", func(t *testing.T) {
		r := ctl(t, []string{"VPNGW_QUEUE_URL=https://receiver.example/hook"}, "tail")
		if r.code != 1 || !strings.Contains(r.errOut, "tail follows NATS JetStream") {
			t.Fatalf("tail of an HTTP sink: %v", r)
		}
	})
}
