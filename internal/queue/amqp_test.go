package queue_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/testenv"
)

func TestAMQPContract(t *testing.T) {
	queuetest.Run(t, queuetest.AMQP(t, testenv.URL(t, testenv.AMQPEnv)))
}

// TestAMQPRestart stops and starts the machine's RabbitMQ application, so it
// runs only when VPNGW_TEST_BROKER_RESTART=1 asks for it.
func TestAMQPRestart(t *testing.T) {
	raw := testenv.URL(t, testenv.AMQPEnv)
	b := queuetest.AMQP(t, raw)
	requireRestartOptIn(t)
	b.Stop = func(t *testing.T) { run(t, "rabbitmqctl", "stop_app") }
	b.Start = func(t *testing.T) {
		run(t, "rabbitmqctl", "start_app")
		waitForAMQP(t, raw)
	}
	queuetest.RunRestart(t, b, queuetest.RestartOptions{Deadline: 90 * time.Second})
}

func waitForAMQP(t *testing.T, raw string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := amqp.DialConfig(raw, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("AMQP broker not back 30 s after start_app: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func withQuery(raw string, q url.Values) string {
	u, _ := url.Parse(raw)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestAMQPMandatory(t *testing.T) {
	raw := testenv.URL(t, testenv.AMQPEnv)
	exchange := "vpngwtest." + queuetest.NewRunID()
	t.Cleanup(func() {
		queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error { return ch.ExchangeDelete(exchange, false, false) })
	})
	m := queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1)

	// No queue is bound: by default the event must not count as published.
	p := open(t, withQuery(raw, url.Values{"exchange": {exchange}}))
	err := publish(t, p, m)
	if !errors.Is(err, queue.ErrUnroutable) || !errors.Is(err, queue.ErrRefused) {
		t.Fatalf("publish with nothing bound: got %v, want ErrUnroutable, a refusal (ErrRefused)", err)
	}
	if !strings.Contains(err.Error(), "312") || !strings.Contains(err.Error(), m.Type) || !strings.Contains(err.Error(), `"io.vpngw.#"`) {
		t.Errorf("error should name the reply code and routing key, and the binding that takes every type: %v", err)
	}
	// The channel stays usable: once a queue is bound the retry succeeds.
	q := exchange + ".q"
	queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
		if _, err := ch.QueueDeclare(q, false, true, false, false, nil); err != nil {
			return err
		}
		return ch.QueueBind(q, "io.vpngw.gateway.*", exchange, false, nil)
	})
	t.Cleanup(func() {
		queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
	})
	if err := publish(t, p, m); err != nil {
		t.Fatalf("publish after binding a queue: %v", err)
	}
	// A type the binding does not match is unroutable again.
	if err := publish(t, p, queuetest.NewMessage("id-2", "io.other.thing", 2)); !errors.Is(err, queue.ErrUnroutable) {
		t.Errorf("publish of an unbound routing key: got %v, want ErrUnroutable", err)
	}

	// mandatory=false: fire and forget is the operator's explicit choice.
	loose := open(t, withQuery(raw, url.Values{"exchange": {exchange}, "mandatory": {"false"}}))
	if err := publish(t, loose, queuetest.NewMessage("id-3", "io.other.thing", 3)); err != nil {
		t.Errorf("mandatory=false publish of an unbound key: %v", err)
	}
}

func TestAMQPMessageProperties(t *testing.T) {
	raw := testenv.URL(t, testenv.AMQPEnv)
	exchange := "vpngwtest." + queuetest.NewRunID()
	p := open(t, withQuery(raw, url.Values{"exchange": {exchange}}))
	// Let the publisher declare the exchange; its first, unroutable, publish
	// proves it did.
	if err := publish(t, p, queuetest.NewMessage("id-0", "io.vpngw.gateway.active", 0)); !errors.Is(err, queue.ErrUnroutable) {
		t.Fatalf("first publish: got %v, want ErrUnroutable", err)
	}
	q := bindQueue(t, raw, exchange, "", "#")
	m := queuetest.NewMessage("id-1", "io.vpngw.gateway.accepted", 1)
	if err := publish(t, p, m); err != nil {
		t.Fatal(err)
	}
	queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
		d, ok, err := ch.Get(q, true)
		if err != nil || !ok {
			return fmt.Errorf("get the published message: ok=%v err=%v", ok, err)
		}
		if d.Exchange != exchange || d.RoutingKey != m.Type || d.MessageId != m.ID || d.Type != m.Type ||
			d.ContentType != queue.ContentType || d.DeliveryMode != amqp.Persistent || string(d.Body) != string(m.Body) {
			t.Errorf("delivery: exchange %q key %q id %q type %q content type %q mode %d body %s",
				d.Exchange, d.RoutingKey, d.MessageId, d.Type, d.ContentType, d.DeliveryMode, d.Body)
		}
		return nil
	})
	// The exchange vpngw declared is a durable topic exchange: declaring it
	// passively with other settings would fail, so declare it the same way.
	queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
		return ch.ExchangeDeclarePassive(exchange, "topic", true, false, false, false, nil)
	})
}

func TestAMQPExchangeDeclare(t *testing.T) {
	raw := testenv.URL(t, testenv.AMQPEnv)
	exchange := "vpngwtest." + queuetest.NewRunID()
	// An operator made a fanout exchange under the name vpngw would declare
	// as topic.
	bindQueue(t, raw, exchange, "fanout", "")
	m := queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1)
	p := open(t, withQuery(raw, url.Values{"exchange": {exchange}}))
	err := publish(t, p, m)
	if err == nil || !strings.Contains(err.Error(), "PRECONDITION_FAILED") || !strings.Contains(err.Error(), "declare=false") {
		t.Fatalf("declaring over a fanout exchange: got %v, want PRECONDITION_FAILED and the declare=false hint", err)
	}
	p = open(t, withQuery(raw, url.Values{"exchange": {exchange}, "declare": {"false"}}))
	if err := publish(t, p, m); err != nil {
		t.Fatalf("declare=false onto the operator's exchange: %v", err)
	}
}

// TestAMQPReconnectsAfterChannelError: publishing to a missing exchange makes
// the broker close the channel; the next Publish must open a new one.
func TestAMQPReconnectsAfterChannelError(t *testing.T) {
	raw := testenv.URL(t, testenv.AMQPEnv)
	exchange := "vpngwtest." + queuetest.NewRunID()
	p := open(t, withQuery(raw, url.Values{"exchange": {exchange}, "declare": {"false"}}))
	m := queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1)
	err := publish(t, p, m)
	if err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Fatalf("publish to a missing exchange: got %v, want NOT_FOUND", err)
	}
	bindQueue(t, raw, exchange, "topic", "#")
	if err := publish(t, p, m); err != nil {
		t.Fatalf("publish once the exchange exists: %v", err)
	}
}

// bindQueue binds a fresh auto-delete queue named after exchange with key,
// first declaring exchange as a durable exchange of kind unless kind is empty
// (the publisher declares it), and deletes both when the test ends. It returns
// the queue's name.
func bindQueue(t *testing.T, raw, exchange, kind, key string) string {
	t.Helper()
	q := exchange + ".q"
	queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
		if kind != "" {
			if err := ch.ExchangeDeclare(exchange, kind, true, false, false, false, nil); err != nil {
				return err
			}
		}
		if _, err := ch.QueueDeclare(q, false, true, false, false, nil); err != nil {
			return err
		}
		return ch.QueueBind(q, key, exchange, false, nil)
	})
	t.Cleanup(func() {
		queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				return err
			}
			return ch.ExchangeDelete(exchange, false, false)
		})
	})
	return q
}
