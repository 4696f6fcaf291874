package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
)

// received is one outcome event as a consumer reads it.
type received struct {
	ID, Type, Source, Subject string
	Data                      eventData
}

// eventData is the part of every outcome's data the invariants look at.
type eventData struct {
	Request struct {
		Source, Id string
	}
	VpnGatewayId string
	Stage        string
	Code         string
	Message      string
}

func parseEvent(body []byte) (received, error) {
	var ev struct {
		ID      string    `json:"id"`
		Type    string    `json:"type"`
		Source  string    `json:"source"`
		Subject string    `json:"subject"`
		Data    eventData `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return received{}, fmt.Errorf("event %q: %w", body, err)
	}
	return received{ID: ev.ID, Type: ev.Type, Source: ev.Source, Subject: ev.Subject, Data: ev.Data}, nil
}

// broker is the embedded NATS server with JetStream the pipeline publishes
// to, a plain subscriber on vpngw.> that records every message it gets (as
// any consumer of the subjects would), and the means to stop the server and
// start it again on the same port and store directory.
type broker struct {
	t          testing.TB
	dir        string
	port       int
	maxPayload int32 // the server's max_payload; 0: NATS's default

	mu       sync.Mutex
	srv      *natsembed.Embedded
	sub      *nats.Conn
	plain    []received
	badPlain int
	outages  int
}

func startBroker(t testing.TB, maxPayload int32) *broker {
	t.Helper()
	b := &broker{t: t, dir: filepath.Join(t.TempDir(), "nats"), maxPayload: maxPayload}
	srv, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: b.dir, MaxPayload: maxPayload})
	if err != nil {
		t.Fatal(err)
	}
	b.srv, b.port = srv, srv.Port()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.sub != nil {
			b.sub.Close()
		}
		if b.srv != nil {
			b.srv.Shutdown()
		}
	})
	nc, err := nats.Connect(b.URL(), nats.Name("faults-plain-subscriber"),
		nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Subscribe(queue.DefaultSubjectPrefix+".>", func(m *nats.Msg) {
		ev, err := parseEvent(m.Data)
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil {
			b.badPlain++
			return
		}
		b.plain = append(b.plain, ev)
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	b.sub = nc
	return b
}

// URL is the broker's client URL; it stays the same across restarts.
func (b *broker) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", b.port) }

// stop shuts the server down, as a broker outage.
func (b *broker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.srv.Shutdown()
	b.srv = nil
	b.outages++
}

// restart starts the server again on the same port and directory: the
// stream and its messages are recovered from disk.
func (b *broker) restart() {
	b.mu.Lock()
	defer b.mu.Unlock()
	var err error
	for range 50 {
		b.srv, err = natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: b.dir, Port: b.port, MaxPayload: b.maxPayload})
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Errorf("restart the broker on port %d: %v", b.port, err)
}

// plainEvents returns what the plain subscriber received so far.
func (b *broker) plainEvents() ([]received, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.plain...), b.badPlain
}

// waitPlain waits until the plain subscriber's count stops growing.
func (b *broker) waitPlain(min int) {
	deadline := time.Now().Add(5 * time.Second)
	last := -1
	for time.Now().Before(deadline) {
		got, _ := b.plainEvents()
		if len(got) >= min && len(got) == last {
			return
		}
		last = len(got)
		time.Sleep(100 * time.Millisecond)
	}
}

// streamEvents reads the whole stream with a JetStream consumer: what a
// durable consumer of vpngw's events gets, after JetStream dropped
// republished events by their Nats-Msg-Id.
func (b *broker) streamEvents(ctx context.Context) ([]received, error) {
	nc, err := nats.Connect(b.URL(), nats.Name("faults-stream-reader"))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := js.Stream(ctx, queue.DefaultStream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", queue.DefaultStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	want := int(info.State.Msgs)
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []received
	for len(out) < want {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return out, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			ev, err := parseEvent(m.Data())
			if err != nil {
				return out, err
			}
			out = append(out, ev)
		}
		if err := batch.Error(); err != nil {
			return out, err
		}
		if n == 0 {
			return out, fmt.Errorf("stream holds %d messages, the consumer read %d", want, len(out))
		}
	}
	return out, nil
}
