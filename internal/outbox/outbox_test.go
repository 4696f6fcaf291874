package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
)

// flaky acknowledges until it is told to fail, and records what it sent.
type flaky struct {
	sent   []string
	failAt int // fail the publish with this index (0: never)
}

func (f *flaky) Publish(_ context.Context, m outgoing.Event) error {
	if f.failAt != 0 && len(f.sent)+1 == f.failAt {
		return errors.New("broker down")
	}
	f.sent = append(f.sent, m.ID)
	return nil
}

func TestDrainPublishesInOrderAndStopsAtTheFirstFailure(t *testing.T) {
	ctx := context.Background()
	s, want := seed(t, 250)
	pub := &flaky{failAt: 120}
	d, err := outbox.New(s, pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Drain(ctx)
	if err == nil || rep.Published != 119 || rep.Parked != 0 {
		t.Fatalf("first drain: %+v, err %v; want 119 published and the failure", rep, err)
	}
	pub.failAt = 0
	rep, err = d.Drain(ctx)
	if err != nil || rep.Published != 131 {
		t.Fatalf("second drain: %+v, %v; want the remaining 131", rep, err)
	}
	if fmt.Sprint(pub.sent) != fmt.Sprint(want) {
		t.Fatalf("published out of order or twice")
	}
	if left, _ := s.Unsent(ctx, 10); len(left) != 0 {
		t.Fatalf("%d events left unsent", len(left))
	}
}

// sizeLimited is a broker that refuses for good any message larger than max,
// as NATS refuses one over its max_payload, and is away while down is set.
type sizeLimited struct {
	max  int
	down bool
	sent []string
}

func (b *sizeLimited) Publish(_ context.Context, m outgoing.Event) error {
	switch {
	case b.down:
		return errors.New("connection refused")
	case len(m.Body) > b.max:
		return fmt.Errorf("%w: publish %s: message of %d bytes over the broker's limit of %d", outbox.ErrRefused, m.ID, len(m.Body), b.max)
	}
	b.sent = append(b.sent, m.ID)
	return nil
}

// TestDrainParksARefusedEventAndGoesOn puts events the broker refuses for
// good in the middle of the outbox (one in the first read, one in the
// second): every event behind them is published, in order, in the same
// drain; the refused ones are parked with the broker's reason, logged at
// error level and counted. A broker that is away still stops the drain.
func TestDrainParksARefusedEventAndGoesOn(t *testing.T) {
	ctx := context.Background()
	s, _ := seed(t, 0)
	now := time.Now()
	oversized := map[int]bool{60: true, 180: true}
	var want []string
	for i := range 250 {
		key := fmt.Sprintf("k%03d", i)
		id := "e" + key
		body := []byte("{}")
		if oversized[i] {
			body = []byte(`{"pad":"` + strings.Repeat("x", 2048) + `"}`)
		} else {
			want = append(want, id)
		}
		insert(t, s, now, key, id, "t", body)
	}
	var logs bytes.Buffer
	pub := &sizeLimited{max: 1024}
	d, err := outbox.New(s, pub, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Drain(ctx)
	if err != nil || rep.Published != 248 || rep.Parked != 2 {
		t.Fatalf("drain: %+v, %v; want 248 published and 2 parked", rep, err)
	}
	if fmt.Sprint(pub.sent) != fmt.Sprint(want) {
		t.Fatalf("published %d events, not every other one in order", len(pub.sent))
	}
	if left, _ := s.Unsent(ctx, 10); len(left) != 0 {
		t.Fatalf("%d events left unsent", len(left))
	}
	parked, err := s.Parked(ctx, 10)
	if err != nil || len(parked) != 2 || parked[0].ID != "ek060" || parked[1].ID != "ek180" {
		t.Fatalf("parked: %+v, %v; want ek060 and ek180", parked, err)
	}
	for _, p := range parked {
		if !strings.Contains(p.ParkedReason, "over the broker's limit of 1024") || strings.HasPrefix(p.ParkedReason, "outbox:") {
			t.Errorf("%s parked with reason %q, want the broker's", p.ID, p.ParkedReason)
		}
	}
	var lines int
	for line := range strings.Lines(logs.String()) {
		var attrs map[string]any
		if err := json.Unmarshal([]byte(line), &attrs); err != nil {
			t.Fatal(err)
		}
		if attrs["level"] != "ERROR" || !strings.Contains(fmt.Sprint(attrs["msg"]), "parked") || attrs["event_id"] == nil || attrs["reason"] == nil ||
			!strings.Contains(fmt.Sprint(attrs["replay"]), "DELETE FROM outbox_deliveries") {
			t.Errorf("log line %s: want an error naming the event, the reason and how to replay it", line)
		}
		lines++
	}
	if lines != 2 {
		t.Errorf("%d log lines, want one per parked event:\n%s", lines, logs.String())
	}

	// A broker that is away is not a refusal: nothing is parked, the drain
	// stops, and the event waits in its place.
	insert(t, s, now, "k-later", "e-later", "t", []byte("{}"))
	pub.down = true
	if rep, err := d.Drain(ctx); err == nil || rep.Parked != 0 || rep.Published != 0 {
		t.Fatalf("drain with the broker away: %+v, %v; want an error and nothing parked", rep, err)
	}
	if left, _ := s.Unsent(ctx, 10); len(left) != 1 {
		t.Fatalf("%d events unsent after the broker was away, want 1", len(left))
	}
}
