// Package queuetest is the contract suite every queue.Publisher must pass,
// plus ready-made brokers to run it against: the embedded NATS server, a NATS
// server with JetStream, and an AMQP 0-9-1 broker such as RabbitMQ.
//
// Run checks delivery (body, id, content type, subject or routing key), order,
// de-duplication by id, context cancellation and Close. RunRestart publishes a
// stream of events the way the outbox drain does, retrying each id until it is
// acknowledged, while the broker is stopped and started again, and checks
// that no event is lost.
//
// The tests of package queue import it; so can tests elsewhere that need a
// broker and a consumer, for example the outbox drain's.
package queuetest
