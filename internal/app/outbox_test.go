package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/testenv"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/reconcile"
)

// An outcome larger than the broker takes (an operator's NATS with a 4 KiB
// max_payload, and a request with twenty unknown members whose failed event
// names each) sits between two good requests' outcomes: it is parked in the
// store with the broker's reason, and every outcome behind it is published
// at once, not held until someone notices.
func TestOversizedOutcomeDoesNotHoldBackTheOthers(t *testing.T) {
	s := newStack(t, apptest.WithNATSMaxPayload(4096))
	if _, err := s.provision(requestEvent("evt-before", validData())); err != nil {
		t.Fatal(err)
	}
	bulky := validData()
	for i := range 20 {
		bulky[fmt.Sprintf("UnknownParameterNumber%02d", i)] = i
	}
	resp, err := s.provision(requestEvent("evt-bulky", bulky))
	if err != nil {
		t.Fatalf("a request whose outcome the broker refuses: %v", err)
	}
	if resp.Results[0].State != "failed" {
		t.Fatalf("bulky request: %+v, want failed", resp.Results[0])
	}
	if _, err := s.provision(requestEvent("evt-after", validData())); err != nil {
		t.Fatal(err)
	}
	acc := s.EventsOfType(events.TypeAccepted)
	if len(acc) != 2 {
		t.Fatalf("%d accepted events reached the subscriber, want 2 (before and after the refused one)", len(acc))
	}
	if n := len(s.EventsOfType(events.TypeFailed)); n != 0 {
		t.Fatalf("%d failed events reached the subscriber, want none: the broker refuses it", n)
	}
	parked, err := s.App.Store.Parked(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].Type != events.TypeFailed || parked[0].ID != outcome.ID(requestKey("acs:eventbridge:tickets", "evt-bulky"), events.TypeFailed) {
		t.Fatalf("parked events %+v, want the bulky request's failed event", parked)
	}
	if r := parked[0].ParkedReason; !strings.Contains(r, "max_payload") || !strings.Contains(r, "4096") {
		t.Errorf("parked with reason %q, want the broker's limit named", r)
	}
	if !strings.Contains(s.Logs.String(), `"level":"ERROR","msg":"outbox event parked`) {
		t.Errorf("no error-level log line for the parked event:\n%s", s.Logs.String())
	}
	// The gateways become active; their events follow, and nothing is
	// parked twice. The provision drain parked the failed event, not the
	// tick's: the tick still reports it as held in the store, at error
	// level, for as long as it is there.
	s.Clock.Advance(3 * time.Minute)
	before := len(s.Logs.String())
	rep := s.tick()
	if rep.Active != 2 || rep.Published != 2 || rep.Parked != 0 || rep.ParkedHeld != 1 {
		t.Fatalf("tick: %+v, want 2 active published, nothing more parked, and the one parked event held in the store", rep)
	}
	if tail := s.Logs.String()[before:]; !strings.Contains(tail, `"level":"ERROR","msg":"outbox holds parked events`) || !strings.Contains(tail, `"parked_held":1`) {
		t.Errorf("the tick did not say at error level that one event is parked:\n%s", tail)
	}
}

// amqpStack starts a stack publishing to an exchange of the test's own on
// the test RabbitMQ, with one queue bound to io.vpngw.gateway.* only (as the
// README used to advise); allQ names a second queue the test may declare
// later. Both queues and the exchange are deleted at cleanup.
func amqpStack(t *testing.T, name string) (s *stack, raw, exchange, gatewayQ, allQ string) {
	t.Helper()
	raw = testenv.URL(t, testenv.AMQPEnv)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	exchange = fmt.Sprintf("vpngwtest.%s.%d", name, time.Now().UnixNano())
	gatewayQ, allQ = exchange+".gateway", exchange+".all"
	queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
		if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
			return err
		}
		if _, err := ch.QueueDeclare(gatewayQ, false, false, false, false, nil); err != nil {
			return err
		}
		return ch.QueueBind(gatewayQ, "io.vpngw.gateway.*", exchange, false, nil)
	})
	t.Cleanup(func() {
		queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
			for _, q := range []string{gatewayQ, allQ} {
				if _, err := ch.QueueDelete(q, false, false, false); err != nil {
					return err
				}
			}
			return ch.ExchangeDelete(exchange, false, false)
		})
	})
	u.RawQuery = url.Values{"exchange": {exchange}}.Encode()
	s = newStack(t, apptest.WithEnv(map[string]string{"VPNGW_QUEUE_URL": u.String()}))
	return s, raw, exchange, gatewayQ, allQ
}

// A consumer that binds io.vpngw.gateway.* on AMQP, as the README used to
// advise, has no queue for io.vpngw.batch.completed: the broker answers 312
// NO_ROUTE. That summary is parked, named in an error-level log line with
// the binding that would take it, and the outcomes behind it reach the
// consumer. Once the operator binds io.vpngw.# and unparks it, it is
// published.
func TestAMQPUnboundEventTypeDoesNotHoldBackTheOthers(t *testing.T) {
	s, raw, exchange, gatewayQ, allQ := amqpStack(t, "app")

	if _, err := s.provision(batchEvent("nightly-amqp", []map[string]any{validData(), validData()})); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(3 * time.Minute)
	var (
		rep     reconcile.Report
		tickErr error
	)
	for range 3 { // items active, then the summary
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		rep, tickErr = s.App.Reconcile.Tick(ctx, reconcile.Options{})
		cancel()
		if rep.Batches > 0 {
			break
		}
	}
	if _, err := s.provision(requestEvent("evt-after-batch", validData())); err != nil {
		t.Fatal(err)
	}
	got := amqpTypes(t, raw, gatewayQ, 5)
	want := []string{events.TypeAccepted, events.TypeAccepted, events.TypeActive, events.TypeActive, events.TypeAccepted}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the gateway.* queue got %v, want %v: the accepted event after the summary must not wait", got, want)
	}
	if tickErr != nil || rep.Parked != 1 {
		t.Fatalf("tick completing the batch: %+v, %v; want the unroutable summary parked, no error", rep, tickErr)
	}
	parked, err := s.App.Store.Parked(context.Background(), 10)
	if err != nil || len(parked) != 1 || parked[0].Type != events.TypeBatchCompleted {
		t.Fatalf("parked %+v, %v; want the batch summary", parked, err)
	}
	if r := parked[0].ParkedReason; !strings.Contains(r, "312") || !strings.Contains(r, `"io.vpngw.#"`) {
		t.Errorf("parked with reason %q, want NO_ROUTE and the binding to add", r)
	}
	if l := s.Logs.String(); !strings.Contains(l, `"msg":"outbox event parked`) || !strings.Contains(l, `routing key \"io.vpngw.batch.completed\"`) {
		t.Errorf("no error-level line naming the routing key:\n%s", l)
	}

	// The operator binds every type and replays the parked summary.
	queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
		if _, err := ch.QueueDeclare(allQ, false, false, false, false, nil); err != nil {
			return err
		}
		return ch.QueueBind(allQ, "io.vpngw.#", exchange, false, nil)
	})
	if n, err := s.App.Store.Unpark(context.Background(), []int64{parked[0].Seq}); err != nil || n != 1 {
		t.Fatalf("Unpark: %d, %v", n, err)
	}
	if rep := s.tick(); rep.Published != 1 || rep.Parked != 0 {
		t.Fatalf("tick after unparking: %+v, want the summary published", rep)
	}
	if got := amqpTypes(t, raw, allQ, 1); len(got) != 1 || got[0] != events.TypeBatchCompleted {
		t.Fatalf("the io.vpngw.# queue got %v, want the summary", got)
	}
}

// A parked NO_ROUTE is re-offered: the consumer of the batch summaries was
// not deployed yet (or its exclusive queue was restarting) when the summary
// was published. Once a queue is bound, a later tick publishes it, without
// an operator: unroutable events are offered again after a minute, then
// after twice as long each time, at most hourly.
func TestAMQPUnroutedEventIsReofferedOnceBound(t *testing.T) {
	s, raw, exchange, _, allQ := amqpStack(t, "reoffer")

	if _, err := s.provision(batchEvent("nightly-reoffer", []map[string]any{validData()})); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(3 * time.Minute)
	parked := 0
	for range 3 { // the item active, then the summary
		parked += s.tick().Parked
	}
	if parked != 1 {
		t.Fatalf("%d events parked, want the batch summary no queue is bound for", parked)
	}
	// The summaries' consumer comes up and binds its queue.
	queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
		if _, err := ch.QueueDeclare(allQ, false, false, false, false, nil); err != nil {
			return err
		}
		return ch.QueueBind(allQ, "io.vpngw.batch.*", exchange, false, nil)
	})
	s.Clock.Advance(2 * time.Minute)
	rep := s.tick()
	if rep.ParkedHeld != 0 || rep.Published != 1 {
		t.Fatalf("tick after the queue was bound: %+v, want the summary published and nothing parked", rep)
	}
	if got := amqpTypes(t, raw, allQ, 1); len(got) != 1 || got[0] != events.TypeBatchCompleted {
		t.Fatalf("the summaries' queue got %v, want the summary", got)
	}
}

// amqpTypes takes up to n messages from queue q, waiting up to 10 s for
// them, and returns their event types.
func amqpTypes(t *testing.T, raw, q string, n int) []string {
	t.Helper()
	var out []string
	deadline := time.Now().Add(10 * time.Second)
	queuetest.AMQPChannel(t, raw, func(ch *amqp.Channel) error {
		for len(out) < n {
			d, ok, err := ch.Get(q, true)
			if err != nil {
				return err
			}
			if !ok {
				if time.Now().After(deadline) {
					return nil // the caller compares what arrived
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			var ev struct{ Type string }
			if err := json.Unmarshal(d.Body, &ev); err != nil {
				return err
			}
			out = append(out, ev.Type)
		}
		return nil
	})
	return out
}

// A request breaking 200 rules is answered with a failed event that names
// the first 50 and counts the other 150, so that its size stays bounded
// however much a sender gets wrong.
func TestFailedEventCapsItsErrors(t *testing.T) {
	s := newStack(t)
	data := validData()
	for i := range 200 {
		data[fmt.Sprintf("UnknownParameterNumber%03d", i)] = i
	}
	if _, err := s.provision(requestEvent("evt-200-errors", data)); err != nil {
		t.Fatal(err)
	}
	d := onlyEvent[events.Failed](t, s, events.TypeFailed)
	if len(d.Errors) != events.MaxErrors || d.ErrorsOmitted != 150 || d.Errors[0].Field != "UnknownParameterNumber000" ||
		d.Errors[49].Field != "UnknownParameterNumber049" {
		t.Fatalf("failed event lists %d errors (first %q) and omits %d; want the first %d and 150 counted",
			len(d.Errors), d.Errors[0].Field, d.ErrorsOmitted, events.MaxErrors)
	}
}
