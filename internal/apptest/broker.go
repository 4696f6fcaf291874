package apptest

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
)

// subscribe connects the plain subscriber on vpngw.>: what any consumer of
// the subjects gets, every message as it was published.
func (s *Stack) subscribe() error {
	nc, err := nats.Connect(s.BrokerURL(), nats.Name("apptest-subscriber"),
		nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		return err
	}
	s.Cleanup(nc.Close)
	if _, err := nc.Subscribe(queue.DefaultSubjectPrefix+".>", func(m *nats.Msg) {
		s.mu.Lock()
		s.msgs = append(s.msgs, m.Data)
		s.mu.Unlock()
	}); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	s.sub = nc
	return nil
}

// BrokerURL is the broker's client URL; it stays the same across restarts.
func (s *Stack) BrokerURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.natsPort) }

// StopBroker shuts the broker down, as an outage.
func (s *Stack) StopBroker() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nats != nil {
		s.nats.Shutdown()
		s.nats = nil
		s.outages++
	}
}

// Outages is how often StopBroker stopped a running broker.
func (s *Stack) Outages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outages
}

// StartBroker starts the broker again on the same port and files: the
// stream and its messages are recovered from disk. It retries for five
// seconds while the port is still being released.
func (s *Stack) StartBroker() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nats != nil {
		return
	}
	var err error
	for range 50 {
		var n *natsembed.Embedded
		n, err = natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: s.natsDir, Port: s.natsPort, MaxPayload: s.maxPayload})
		if err == nil {
			s.nats = n
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.tb.Errorf("start the broker again on port %d: %v", s.natsPort, err)
}

// Messages returns what the plain subscriber received so far.
func (s *Stack) Messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

// WaitMessages waits until the plain subscriber has at least n messages and
// its count has stopped growing, or five seconds passed, and returns them.
func (s *Stack) WaitMessages(n int) [][]byte {
	// Every publish was acknowledged before this is called; a round trip on
	// the subscriber's connection makes the server hand over what it routed,
	// and the client's callback may still be working through its queue, so
	// wait until the count stops growing (and reaches n).
	_ = s.sub.FlushTimeout(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	last := -1
	for {
		got := s.Messages()
		if (len(got) >= n && len(got) == last) || time.Now().After(deadline) {
			return got
		}
		last = len(got)
		time.Sleep(20 * time.Millisecond)
	}
}

// Events waits as WaitMessages does and returns the events; a message that
// is not a CloudEvent fails the test.
func (s *Stack) Events(n int) []Event {
	s.tb.Helper()
	return s.parseAll(s.WaitMessages(n))
}

// EventsOfType is Events(0) of one type.
func (s *Stack) EventsOfType(typ string) []Event {
	s.tb.Helper()
	var out []Event
	for _, e := range s.Events(0) {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func (s *Stack) parseAll(msgs [][]byte) []Event {
	s.tb.Helper()
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		ev, err := ParseEvent(m)
		if err != nil {
			s.tb.Errorf("subscriber: %v", err)
			continue
		}
		out = append(out, ev)
	}
	return out
}

// StreamMessages reads every message the JetStream stream holds, as a
// consumer that was not connected at publish time would: after JetStream
// dropped republished events by their Nats-Msg-Id.
func (s *Stack) StreamMessages(ctx context.Context) ([][]byte, error) {
	nc, err := nats.Connect(s.BrokerURL(), nats.Name("apptest-stream-reader"))
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
	var out [][]byte
	for len(out) < want {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return out, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			out = append(out, m.Data())
		}
		if err := batch.Error(); err != nil {
			return out, err
		}
		if n == 0 {
			return out, fmt.Errorf("stream %s: %d of %d messages read, then none", queue.DefaultStream, len(out), want)
		}
	}
	return out, nil
}

// StreamEvents is StreamMessages as events; an error fails the test.
func (s *Stack) StreamEvents() []Event {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := s.StreamMessages(ctx)
	if err != nil {
		s.tb.Fatalf("read the stream: %v", err)
	}
	return s.parseAll(msgs)
}
