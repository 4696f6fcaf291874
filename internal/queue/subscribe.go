package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Received is an event a subscriber read, as the structured CloudEvent a
// publisher of this package sent.
type Received struct {
	ID, Type, Source, Subject string
	Time                      time.Time
	Data                      json.RawMessage
}

// parseReceived reads a structured-mode CloudEvent.
func parseReceived(body []byte) (Received, error) {
	var e struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Source  string          `json:"source"`
		Subject string          `json:"subject"`
		Time    time.Time       `json:"time"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return Received{}, fmt.Errorf("not a structured CloudEvent: %w", err)
	}
	return Received{ID: e.ID, Type: e.Type, Source: e.Source, Subject: e.Subject, Time: e.Time, Data: e.Data}, nil
}

// Subscribe follows the sink rawURL names and calls handle with each event
// published to it from now on, until ctx ends (the error is then ctx's) or
// the subscription fails. It reads without taking anything from other
// consumers: on NATS an ephemeral ordered consumer of the stream, new
// messages only; on AMQP a server-named, exclusive, auto-deleted queue
// bound to the exchange. The stream or exchange is created as the publisher
// creates it (unless the URL says not to). Other sinks (HTTP, Kafka, MQTT) are refused, saying
// which are followed. A message that is not a CloudEvent is skipped.
func Subscribe(ctx context.Context, rawURL string, handle func(Received)) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("sink URL: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "nats", "tls":
		return subscribeNATS(ctx, u, handle)
	case "amqp", "amqps":
		return subscribeAMQP(ctx, u, handle)
	}
	return fmt.Errorf("cannot follow a %s:// sink: tail follows NATS JetStream (nats://, tls://) and AMQP (amqp://, amqps://) sinks; put one first in VPNGW_QUEUE_URL", u.Scheme)
}

func subscribeNATS(ctx context.Context, u *url.URL, handle func(Received)) error {
	cfg, err := parseNATSURL(u)
	if err != nil {
		return err
	}
	// The publisher's session: the same connection options, and the
	// stream created as the publisher would create it (create=true), so
	// that tail can start before the first event is published.
	p := &NATSPublisher{cfg: cfg, sem: newSemaphore(), lost: make(chan struct{})}
	defer p.Close()
	js, err := p.session(ctx)
	if err != nil {
		return err
	}
	nc := p.nc
	cons, err := js.OrderedConsumer(ctx, cfg.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{cfg.prefix + ".>"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("no stream %q on %s: nothing was published to this sink yet (with create=false, the stream is the operator's to make)", cfg.stream, cfg.server)
		}
		return fmt.Errorf("follow stream %q: %w", cfg.stream, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if e, err := parseReceived(m.Data()); err == nil {
			handle(e)
		}
	})
	if err != nil {
		return fmt.Errorf("follow stream %q: %w", cfg.stream, err)
	}
	defer cc.Stop()
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-closed:
		return errors.New("the NATS connection closed")
	}
}

func subscribeAMQP(ctx context.Context, u *url.URL, handle func(Received)) error {
	cfg, err := parseAMQPURL(u)
	if err != nil {
		return err
	}
	if cfg.exchange == "" {
		return errors.New("the sink publishes to the default exchange, which routes by queue name: tail follows a named exchange (exchange=...)")
	}
	conn, err := amqp.DialConfig(cfg.dialURL, amqp.Config{Heartbeat: 10 * time.Second, Dial: contextDialer(ctx, cfg.connectTimeout)})
	if err != nil {
		return fmt.Errorf("connect to %s: %w", cfg.redacted, err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if cfg.declare {
		// As the publisher declares it, so that tail can start before the
		// first event is published.
		if err := ch.ExchangeDeclare(cfg.exchange, cfg.kind, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare durable %s exchange %q (add declare=false to use an existing exchange as it is): %w", cfg.kind, cfg.exchange, err)
		}
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return fmt.Errorf("declare a queue to follow the exchange with: %w", err)
	}
	key := "#"
	switch cfg.kind {
	case "fanout":
		key = ""
	case "direct", "headers":
		return fmt.Errorf("tail follows topic and fanout exchanges; %q is a %s exchange", cfg.exchange, cfg.kind)
	}
	if err := ch.QueueBind(q.Name, key, cfg.exchange, false, nil); err != nil {
		return fmt.Errorf("bind a queue to exchange %q: %w", cfg.exchange, err)
	}
	msgs, err := ch.ConsumeWithContext(ctx, q.Name, "vpngwctl-tail", true, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	closes := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-closes:
			return fmt.Errorf("the AMQP connection closed: %v", err)
		case m, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errors.New("the AMQP channel closed")
			}
			if e, err := parseReceived(m.Body); err == nil {
				handle(e)
			}
		}
	}
}
