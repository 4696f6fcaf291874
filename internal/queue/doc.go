// Package queue publishes vpngw's outcome CloudEvents to a message broker.
//
// The outbox drain is its only production caller: it reads each stored event,
// hands its outgoing.Event to a Publisher and marks it sent only once
// Publish returned nil, which every implementation here promises means "the
// broker acknowledged it". A failed Publish is safe to repeat with the same event:
// NATS JetStream drops the repeat by its Nats-Msg-Id within the stream's
// duplicate window, and AMQP consumers can drop it by the message id, which
// is the CloudEvent id.
//
// An error matching ErrRefused (ErrTooLarge, ErrUnroutable, ErrInvalidMessage)
// says the broker will refuse that message every time: the drain parks it in
// the store and publishes the next. Any other error is transient: the drain
// stops there and retries in order.
//
// Open picks an implementation by URL scheme and validates the URL; broker
// publishers connect on the first Publish and reconnect on a later one, so a
// function starts even while its broker is briefly away. Errors never contain
// a password from the URL.
//
// NATS JetStream, nats://host:4222[/prefix][?param=value…] (tls:// for TLS).
// The subject is <prefix>.<event type>, prefix "vpngw" by default:
//
//	stream=VPNGW         stream to publish into (and to create)
//	create=true          create the stream, or add <prefix>.> to an existing
//	                     one and widen its duplicate window; false: use as is
//	duplicates=2h        duplicate window of a stream vpngw creates
//	replicas=1           replicas of a stream vpngw creates
//	connect_timeout=5s   bound on one dial
//	name=vpngw           client name the server shows
//	creds=FILE ca_file=FILE   credentials file, CA for tls://
//
// AMQP 0-9-1 (RabbitMQ, ApsaraMQ for RabbitMQ),
// amqp://user:pass@host:5672/vhost[?param=value…] (amqps:// for TLS). The
// routing key is the event type:
//
//	exchange=vpngw       exchange to publish to; empty: the default exchange
//	exchange_type=topic  type used when declaring it
//	declare=true         declare it durable; false: it must exist
//	mandatory=true       a message no queue receives fails with ErrUnroutable
//	                     (a refusal: the outbox parks it and goes on);
//	                     false: the broker drops it silently
//	name=vpngw           connection name the broker shows
//
// plus amqp091-go's own heartbeat, connection_timeout (ms), channel_max,
// certfile, keyfile, cacertfile, server_name_indication and auth_mechanism.
//
// CloudEvents over HTTP, https://host/path[?mode=binary&timeout=10s&ca_file=…]
// (http:// to loopback only): structured mode by default, signed with the
// secret given by WithSinkSecret exactly as the webhook verifies. 2xx
// acknowledges; 408, 429 and 5xx are transient (RetryAfterError when the
// sink said when); any other 4xx is ErrRejected, a refusal.
//
// Kafka, kafka://[user:pass@]broker[,broker]/topic[?tls=true&sasl=…]: the
// CloudEvents Kafka binding in binary mode, keyed by Message.Key, from an
// idempotent producer with acks=all (package kafkawire, vpngw's own).
//
// MQTT 5, mqtt://host:1883/prefix (mqtts:// for TLS): QoS 1 on
// <prefix>/<event type>, the CloudEvents MQTT binding in binary mode (user
// properties), acknowledged by PUBACK.
//
// log:, stdout:, stderr: or log:stderr write one JSON line per event, for
// running without a broker.
//
// SplitSinks cuts VPNGW_QUEUE_URL into its sinks and SinkName names one in
// the store. Register adds a scheme without touching the callers.
//
// Package natsembed runs a NATS server with JetStream inside the process for
// the local stack and for tests. The contract every Publisher honours is checked
// by the suite in package queuetest.
package queue
