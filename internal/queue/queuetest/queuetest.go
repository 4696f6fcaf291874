package queuetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
)

// Received is one message as a consumer saw it.
type Received struct {
	ID          string // Nats-Msg-Id header, or AMQP message id
	Route       string // NATS subject, or AMQP routing key
	ContentType string
	Body        []byte
}

// Destination is one isolated place to publish to, made for one test.
type Destination struct {
	// NewPublisher opens a Publisher for this destination; the suite closes it.
	NewPublisher func(t testing.TB) queue.Publisher
	// Consume returns every message that reached the destination, in arrival
	// order, including those that arrived before the call.
	Consume func(t testing.TB) <-chan Received
	// Route returns the subject or routing key a message of eventType must
	// arrive with.
	Route func(eventType string) string
}

// Broker is a broker under test.
type Broker struct {
	// Dedup is true when the broker keeps only the first message with a given
	// id (JetStream). Otherwise consumers de-duplicate by id.
	Dedup bool
	// NewDestination prepares an isolated destination for one test and
	// removes it in t.Cleanup.
	NewDestination func(t testing.TB) Destination
	// Refused returns a message every destination of NewDestination refuses
	// for good, and the sentinel the refusal must match besides
	// queue.ErrRefused: a body over NATS's max_payload (ErrTooLarge), a type
	// no AMQP queue is bound for (ErrUnroutable). Nil skips the test.
	Refused func(run string) (outgoing.Event, error)
	// Binary is true when the sink carries events in CloudEvents binary mode
	// and its consumer puts the structured event back together: the body is
	// then compared as JSON, and the content type is the event's
	// datacontenttype.
	Binary bool
	// Stop and Start take the broker down and bring it back; RunRestart
	// skips when either is nil. Start must return only once the broker
	// accepts clients.
	Stop, Start func(t *testing.T)
}

// receiveTimeout bounds the wait for a message that should arrive.
const receiveTimeout = 15 * time.Second

// Run runs the publisher contract against b.
func Run(t *testing.T, b Broker) {
	t.Run("DeliversBodyIDRouteAndContentType", func(t *testing.T) {
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		in := d.Consume(t)
		msgs := []outgoing.Event{
			NewMessage(NewRunID()+"-a", "io.vpngw.gateway.active", 1),
			NewMessage(NewRunID()+"-f", "io.vpngw.gateway.failed", 2),
		}
		for _, m := range msgs {
			mustPublish(t, p, m)
		}
		got := Receive(t, in, len(msgs))
		for i, m := range msgs {
			checkDelivered(t, b, d, got[i], m)
		}
	})

	t.Run("KeepsOrderOfSequentialPublishes", func(t *testing.T) {
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		in := d.Consume(t)
		run := NewRunID()
		var msgs []outgoing.Event
		for i := range 25 {
			// Alternate types: order must hold across subjects and keys.
			typ := "io.vpngw.gateway.accepted"
			if i%2 == 1 {
				typ = "io.vpngw.gateway.active"
			}
			m := NewMessage(fmt.Sprintf("%s-%02d", run, i), typ, i)
			msgs = append(msgs, m)
			mustPublish(t, p, m)
		}
		got := Receive(t, in, len(msgs))
		for i, m := range msgs {
			if got[i].ID != m.ID {
				t.Fatalf("message %d: got id %s, want %s (order not preserved)", i, got[i].ID, m.ID)
			}
		}
	})

	t.Run("SameIDTwice", func(t *testing.T) {
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		in := d.Consume(t)
		run := NewRunID()
		a := NewMessage(run+"-a", "io.vpngw.gateway.active", 1)
		marker := NewMessage(run+"-b", "io.vpngw.gateway.active", 2)
		mustPublish(t, p, a)
		mustPublish(t, p, a) // the outbox republishing after a lost ack
		mustPublish(t, p, marker)
		if b.Dedup {
			// Order holds, so a second copy of a would arrive before marker.
			got := Receive(t, in, 2)
			if got[0].ID != a.ID || got[1].ID != marker.ID {
				t.Fatalf("got ids %s, %s; want %s once, then %s", got[0].ID, got[1].ID, a.ID, marker.ID)
			}
			expectNothing(t, in, 300*time.Millisecond)
			return
		}
		// Without broker dedup both copies arrive and carry the same id, so
		// a consumer can drop the second.
		got := Receive(t, in, 3)
		if got[0].ID != a.ID || got[1].ID != a.ID || got[2].ID != marker.ID {
			t.Fatalf("got ids %s, %s, %s; want %s twice, then %s", got[0].ID, got[1].ID, got[2].ID, a.ID, marker.ID)
		}
		if !bytes.Equal(got[0].Body, got[1].Body) {
			t.Fatalf("the two copies of %s differ", a.ID)
		}
	})

	t.Run("DoneContextFailsAndSendsNothing", func(t *testing.T) {
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		in := d.Consume(t)
		run := NewRunID()
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel2()
		for _, c := range []struct {
			name string
			ctx  context.Context
			want error
		}{
			{"cancelled", cancelled, context.Canceled},
			{"deadline passed", expired, context.DeadlineExceeded},
		} {
			err := p.Publish(c.ctx, NewMessage(run+"-"+c.name, "io.vpngw.gateway.active", 0))
			if !errors.Is(err, c.want) {
				t.Errorf("Publish with %s context: got %v, want an error wrapping %v", c.name, err, c.want)
			}
		}
		ok := NewMessage(run+"-ok", "io.vpngw.gateway.active", 1)
		mustPublish(t, p, ok)
		if got := Receive(t, in, 1); got[0].ID != ok.ID {
			t.Fatalf("first message received is %s, want %s: a publish with a done context got through", got[0].ID, ok.ID)
		}
	})

	t.Run("PublishAfterCloseFails", func(t *testing.T) {
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		mustPublish(t, p, NewMessage(NewRunID(), "io.vpngw.gateway.active", 1))
		if err := p.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		err := p.Publish(context.Background(), NewMessage(NewRunID(), "io.vpngw.gateway.active", 2))
		if !errors.Is(err, queue.ErrClosed) {
			t.Fatalf("Publish after Close: got %v, want ErrClosed", err)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})

	t.Run("PublishBeforeFirstConnectAfterClose", func(t *testing.T) {
		// Close on a publisher that never connected must still stick.
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		if err := p.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		err := p.Publish(context.Background(), NewMessage(NewRunID(), "io.vpngw.gateway.active", 1))
		if !errors.Is(err, queue.ErrClosed) {
			t.Fatalf("Publish after Close: got %v, want ErrClosed", err)
		}
	})

	t.Run("RejectsInvalidMessages", func(t *testing.T) {
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		good := NewMessage(NewRunID(), "io.vpngw.gateway.active", 1)
		for name, m := range map[string]outgoing.Event{
			"empty id":        {Type: good.Type, Body: good.Body},
			"empty type":      {ID: good.ID, Body: good.Body},
			"empty body":      {ID: good.ID, Type: good.Type},
			"wildcard type":   {ID: good.ID, Type: "io.vpngw.*", Body: good.Body},
			"blank in type":   {ID: good.ID, Type: "io.vpngw gateway", Body: good.Body},
			"empty token":     {ID: good.ID, Type: "io..vpngw", Body: good.Body},
			"trailing dot":    {ID: good.ID, Type: "io.vpngw.", Body: good.Body},
			"full wildcard":   {ID: good.ID, Type: "io.>", Body: good.Body},
			"newline in type": {ID: good.ID, Type: "io.vpngw\n", Body: good.Body},
		} {
			if err := p.Publish(context.Background(), m); !errors.Is(err, queue.ErrInvalidMessage) {
				t.Errorf("%s: got %v, want ErrInvalidMessage", name, err)
			}
		}
	})

	t.Run("RefusedForGoodAndGoesOn", func(t *testing.T) {
		if b.Refused == nil {
			t.Skip("no message this broker refuses for good")
		}
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		in := d.Consume(t)
		run := NewRunID()
		before := NewMessage(run+"-before", "io.vpngw.gateway.active", 1)
		mustPublish(t, p, before)
		refused, want := b.Refused(run)
		for range 2 { // refused again: it is the message, not the moment
			ctx, cancel := context.WithTimeout(context.Background(), receiveTimeout)
			err := p.Publish(ctx, refused)
			cancel()
			if !errors.Is(err, want) || !errors.Is(err, queue.ErrRefused) {
				t.Fatalf("Publish of %s (%d bytes, type %s): got %v, want an error matching %v and ErrRefused", refused.ID, len(refused.Body), refused.Type, err, want)
			}
			if errors.Is(want, queue.ErrTooLarge) && !strings.Contains(err.Error(), fmt.Sprint(len(refused.Body))) {
				t.Errorf("error %q does not say how large the message is (%d bytes)", err, len(refused.Body))
			}
			if errors.Is(want, queue.ErrUnroutable) && !strings.Contains(err.Error(), refused.Type) {
				t.Errorf("error %q does not name the routing key %s", err, refused.Type)
			}
		}
		// The refusal is about that message alone: the next goes through.
		after := NewMessage(run+"-after", "io.vpngw.gateway.active", 3)
		mustPublish(t, p, after)
		got := Receive(t, in, 2)
		if got[0].ID != before.ID || got[1].ID != after.ID {
			t.Fatalf("received %s, %s; want %s, %s and nothing of the refused message", got[0].ID, got[1].ID, before.ID, after.ID)
		}
	})

	t.Run("ConcurrentPublishes", func(t *testing.T) {
		d := b.NewDestination(t)
		p := d.NewPublisher(t)
		in := d.Consume(t)
		run := NewRunID()
		const workers, each = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					m := NewMessage(fmt.Sprintf("%s-%d-%d", run, w, i), "io.vpngw.gateway.active", i)
					ctx, cancel := context.WithTimeout(context.Background(), receiveTimeout)
					errs <- p.Publish(ctx, m)
					cancel()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Publish: %v", err)
			}
		}
		seen := map[string]int{}
		for _, r := range Receive(t, in, workers*each) {
			seen[r.ID]++
		}
		for w := range workers {
			for i := range each {
				if id := fmt.Sprintf("%s-%d-%d", run, w, i); seen[id] != 1 {
					t.Errorf("%s received %d times, want 1", id, seen[id])
				}
			}
		}
	})
}

// NewRunID returns a short random id that keeps names of one test run apart
// from any other run's on a shared broker.
func NewRunID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// NewMessage returns a message whose body is a CloudEvent in structured mode
// carrying seq, as the outbox would hold it.
func NewMessage(id, eventType string, seq int) outgoing.Event {
	body, err := json.Marshal(map[string]any{
		"specversion":     "1.0",
		"id":              id,
		"source":          "/vpngw",
		"type":            eventType,
		"datacontenttype": "application/json",
		"data":            map[string]any{"seq": seq},
	})
	if err != nil {
		panic(err)
	}
	return outgoing.Event{ID: id, Type: eventType, Body: body}
}

// Receive reads n messages from in or fails the test after a generous
// timeout.
func Receive(t testing.TB, in <-chan Received, n int) []Received {
	t.Helper()
	out := make([]Received, 0, n)
	timeout := time.NewTimer(receiveTimeout)
	defer timeout.Stop()
	for len(out) < n {
		select {
		case r, ok := <-in:
			if !ok {
				t.Fatalf("consumer stopped after %d of %d messages", len(out), n)
			}
			out = append(out, r)
		case <-timeout.C:
			t.Fatalf("received %d of %d messages within %s", len(out), n, receiveTimeout)
		}
	}
	return out
}

func expectNothing(t *testing.T, in <-chan Received, d time.Duration) {
	t.Helper()
	select {
	case r := <-in:
		t.Fatalf("unexpected extra message %s on %s", r.ID, r.Route)
	case <-time.After(d):
	}
}

func mustPublish(t *testing.T, p queue.Publisher, m outgoing.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), receiveTimeout)
	defer cancel()
	if err := p.Publish(ctx, m); err != nil {
		t.Fatalf("Publish %s: %v", m.ID, err)
	}
}

func checkDelivered(t *testing.T, b Broker, d Destination, got Received, want outgoing.Event) {
	t.Helper()
	if b.Binary {
		checkDeliveredBinary(t, d, got, want)
		return
	}
	if got.ID != want.ID {
		t.Errorf("id: got %q, want %q", got.ID, want.ID)
	}
	if r := d.Route(want.Type); got.Route != r {
		t.Errorf("%s: route got %q, want %q", want.ID, got.Route, r)
	}
	if got.ContentType != queue.ContentType {
		t.Errorf("%s: content type got %q, want %q", want.ID, got.ContentType, queue.ContentType)
	}
	if !bytes.Equal(got.Body, want.Body) {
		t.Errorf("%s: body got %s, want %s", want.ID, got.Body, want.Body)
	}
}

// checkDeliveredBinary is checkDelivered for a binary-mode sink, whose
// consumer rebuilt the structured event from the attributes it carried.
func checkDeliveredBinary(t *testing.T, d Destination, got Received, want outgoing.Event) {
	t.Helper()
	if got.ID != want.ID {
		t.Errorf("id: got %q, want %q", got.ID, want.ID)
	}
	if r := d.Route(want.Type); got.Route != r {
		t.Errorf("%s: route got %q, want %q", want.ID, got.Route, r)
	}
	if got.ContentType != "application/json" {
		t.Errorf("%s: content type got %q, want the event's datacontenttype application/json", want.ID, got.ContentType)
	}
	var g, w any
	if err := json.Unmarshal(got.Body, &g); err != nil {
		t.Fatalf("%s: rebuilt event is not JSON: %v", want.ID, err)
	}
	if err := json.Unmarshal(want.Body, &w); err != nil {
		t.Fatalf("%s: sent event is not JSON: %v", want.ID, err)
	}
	if gb, wb := mustJSON(g), mustJSON(w); gb != wb {
		t.Errorf("%s: event got %s, want %s", want.ID, gb, wb)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Structured rebuilds a structured-mode CloudEvent from binary-mode
// attributes (the datacontenttype among them) and data, as a consumer with
// a CloudEvents SDK sees it. JSON data stays JSON; other data becomes a
// string.
func Structured(attrs map[string]string, data []byte) []byte {
	ev := map[string]any{}
	for k, v := range attrs {
		ev[k] = v
	}
	if len(data) > 0 {
		if json.Valid(data) {
			ev["data"] = json.RawMessage(data)
		} else {
			ev["data"] = string(data)
		}
	}
	return []byte(mustJSON(ev))
}
