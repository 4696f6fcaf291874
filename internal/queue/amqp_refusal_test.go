package queue

import (
	"errors"
	"fmt"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vpngw/vpngw/internal/outgoing"
)

// TestAMQPChannelCloseClassified: RabbitMQ closes the channel with 406
// PRECONDITION_FAILED when a message is larger than its max_message_size
// (rabbit_channel: "message size ~B is larger than configured max size
// ~B"). That refusal is for good, ErrTooLarge; any other close is for now.
// The shared test broker's max_message_size is global (128 MiB, no
// per-vhost limit), so the close is built as amqp091 hands it over rather
// than provoked.
func TestAMQPChannelCloseClassified(t *testing.T) {
	m := outgoing.Event{ID: "e1", Type: "io.vpngw.gateway.failed", Body: []byte(`{}`)}
	tooLarge := &amqp.Error{Code: amqp.PreconditionFailed, Server: true,
		Reason: fmt.Sprintf("PRECONDITION_FAILED - message size %d is larger than configured max size %d", 2048, 1024)}
	for _, c := range []struct {
		name      string
		e         *amqp.Error
		permanent bool
	}{
		{"over max_message_size", tooLarge, true},
		{"other precondition", &amqp.Error{Code: amqp.PreconditionFailed, Server: true, Reason: "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'vpngw'"}, false},
		{"connection forced", &amqp.Error{Code: amqp.ConnectionForced, Server: true, Reason: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"}, false},
		{"no reason", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := channelClosed(m, "vpngw", c.e)
			if got := errors.Is(err, ErrTooLarge) && errors.Is(err, ErrRefused); got != c.permanent {
				t.Errorf("%v: ErrTooLarge and ErrRefused = %v, want %v", err, got, c.permanent)
			}
			if c.permanent && !errors.Is(err, c.e) {
				t.Errorf("%v does not carry the broker's error", err)
			}
		})
	}
}
