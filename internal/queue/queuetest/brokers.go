package queuetest

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
)

// openPublisher opens rawURL with queue.Open and closes it at cleanup.
func openPublisher(t testing.TB, rawURL string) queue.Publisher {
	t.Helper()
	p, err := queue.Open(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("queue.Open: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// EmbeddedNATS starts a natsembed.Embedded on a free port with its store in a
// temporary directory and returns it as a Broker. Stop shuts the server down;
// Start runs a new one on the same port and directory, as a restarted
// broker would come back.
func EmbeddedNATS(t testing.TB) Broker {
	t.Helper()
	dir := t.TempDir()
	srv, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	port := srv.Port()
	clientURL := srv.ClientURL()
	var mu sync.Mutex
	current := srv
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if current != nil {
			current.Shutdown()
		}
	})
	b := NATS(t, clientURL)
	b.Stop = func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		current.Shutdown()
		current = nil
	}
	b.Start = func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		if current != nil {
			return
		}
		s, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: dir, Port: port})
		if err != nil {
			t.Fatalf("restart embedded NATS on port %d: %v", port, err)
		}
		current = s
	}
	return b
}

// NATS returns a Broker for a NATS server with JetStream at rawURL
// (nats://host:port, credentials allowed). Each destination gets its own
// subject prefix and stream, deleted at cleanup. The server must be reachable:
// the test fails otherwise.
func NATS(t testing.TB, rawURL string) Broker {
	t.Helper()
	base := serverURL(t, "NATS", rawURL, false)
	// Probe now so an unreachable server fails the test instead of each
	// subtest timing out.
	nc, err := nats.Connect(base.String(), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("NATS at %s is not reachable: %v", base.Redacted(), err)
	}
	maxPayload := int(nc.MaxPayload())
	nc.Close()
	return Broker{
		Dedup: true,
		Refused: func(run string) (outgoing.Event, error) {
			m := NewMessage(run+"-big", "io.vpngw.gateway.failed", 2)
			m.Body = append(bytes.Repeat([]byte(" "), maxPayload+1), m.Body...)
			return m, queue.ErrTooLarge
		},
		NewDestination: func(t testing.TB) Destination {
			run := NewRunID()
			prefix := "vpngwtest." + run
			stream := "VPNGWTEST_" + strings.ToUpper(run)
			pubURL := *base
			pubURL.Path = "/" + prefix
			pubURL.RawQuery = url.Values{"stream": {stream}, "name": {"vpngw-test"}}.Encode()
			t.Cleanup(func() { deleteStream(t, base.String(), stream) })
			return Destination{
				NewPublisher: func(t testing.TB) queue.Publisher { return openPublisher(t, pubURL.String()) },
				Consume:      func(t testing.TB) <-chan Received { return consumeNATS(t, base.String(), stream, prefix) },
				Route:        func(eventType string) string { return prefix + "." + eventType },
			}
		},
	}
}

func deleteStream(t testing.TB, server, stream string) {
	// A broker that a restart test left down has been started again by the
	// time this runs; give it a moment to answer.
	nc, err := nats.Connect(server, nats.Timeout(5*time.Second), nats.RetryOnFailedConnect(false))
	if err != nil {
		t.Errorf("cleanup: connect to delete stream %s: %v", stream, err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("cleanup: delete stream %s: %v", stream, err)
	}
}

// consumeNATS follows the stream from its first message. The publisher under
// test creates the stream on its first Publish, so this waits for it to exist.
func consumeNATS(t testing.TB, server, stream, prefix string) <-chan Received {
	t.Helper()
	nc, err := nats.Connect(server, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("consumer: connect: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatalf("consumer: %v", err)
	}
	out := make(chan Received, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		nc.Close()
	})
	wg.Go(func() {
		var cons jetstream.Consumer
		for {
			var err error
			cons, err = js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
				FilterSubjects: []string{prefix + ".>"},
			})
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Errorf("consumer: %v", err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			select {
			case out <- Received{
				ID:          m.Headers().Get(jetstream.MsgIDHeader),
				Route:       m.Subject(),
				ContentType: m.Headers().Get("Content-Type"),
				Body:        m.Data(),
			}:
			case <-ctx.Done():
			}
		})
		if err != nil {
			t.Errorf("consumer: %v", err)
			return
		}
		<-ctx.Done()
		cc.Stop()
	})
	return out
}

// AMQP returns a Broker for an AMQP 0-9-1 broker at rawURL
// (amqp://user:pass@host:port/vhost). Each destination gets its own durable
// topic exchange and a durable queue bound to it with "io.vpngw.#", as the
// docs/SINKS.md tells consumers to bind (a type outside it is unroutable); both are deleted
// at cleanup, and the queue also expires by itself ten minutes after its last
// use should cleanup never run. The queue is durable, not exclusive, so it
// survives a broker restart in RunRestart.
func AMQP(t testing.TB, rawURL string) Broker {
	t.Helper()
	base := serverURL(t, "AMQP", rawURL, true)
	conn, err := amqp.DialConfig(base.String(), amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("AMQP broker at %s is not reachable: %v", base.Redacted(), err)
	}
	conn.Close()
	return Broker{
		Dedup: false,
		Refused: func(run string) (outgoing.Event, error) {
			return NewMessage(run+"-unbound", "com.example.unbound", 2), queue.ErrUnroutable
		},
		NewDestination: func(t testing.TB) Destination {
			name := "vpngwtest." + NewRunID()
			AMQPChannel(t, base.String(), func(ch *amqp.Channel) error {
				if err := ch.ExchangeDeclare(name, "topic", true, false, false, false, nil); err != nil {
					return err
				}
				if _, err := ch.QueueDeclare(name, true, false, false, false, amqp.Table{"x-expires": int32(10 * 60 * 1000)}); err != nil {
					return err
				}
				return ch.QueueBind(name, "io.vpngw.#", name, false, nil)
			})
			t.Cleanup(func() {
				AMQPChannel(t, base.String(), func(ch *amqp.Channel) error {
					if _, err := ch.QueueDelete(name, false, false, false); err != nil {
						return err
					}
					return ch.ExchangeDelete(name, false, false)
				})
			})
			pubURL := *base
			pubURL.RawQuery = url.Values{"exchange": {name}, "name": {"vpngw-test"}}.Encode()
			return Destination{
				NewPublisher: func(t testing.TB) queue.Publisher { return openPublisher(t, pubURL.String()) },
				Consume:      func(t testing.TB) <-chan Received { return consumeAMQP(t, base.String(), name) },
				Route:        func(eventType string) string { return eventType },
			}
		},
	}
}

// AMQPChannel runs fn on a channel of a connection of its own to the AMQP
// broker at rawURL, closed afterwards; any error fails the test.
func AMQPChannel(t testing.TB, rawURL string, fn func(*amqp.Channel) error) {
	t.Helper()
	conn, err := amqp.DialConfig(rawURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("AMQP: connect: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("AMQP: channel: %v", err)
	}
	if err := fn(ch); err != nil {
		t.Fatalf("AMQP: %v", err)
	}
}

func consumeAMQP(t testing.TB, rawURL, queueName string) <-chan Received {
	t.Helper()
	conn, err := amqp.DialConfig(rawURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("consumer: connect: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		t.Fatalf("consumer: channel: %v", err)
	}
	deliveries, err := ch.Consume(queueName, "", true, false, false, false, nil)
	if err != nil {
		conn.Close()
		t.Fatalf("consumer: consume %s: %v", queueName, err)
	}
	out := make(chan Received, 1024)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(stop)
		conn.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for d := range deliveries {
			select {
			case out <- Received{ID: d.MessageId, Route: d.RoutingKey, ContentType: d.ContentType, Body: d.Body}:
			case <-stop:
				return
			}
		}
	})
	return out
}

// serverURL parses the test URL of the named broker kind, failing the test
// if it does not parse, and drops its query and, unless keepPath, its path:
// what is left names the server.
func serverURL(t testing.TB, kind, rawURL string, keepPath bool) *url.URL {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%s test URL: %v", kind, err)
	}
	u.RawQuery = ""
	if !keepPath {
		u.Path = ""
	}
	return u
}
