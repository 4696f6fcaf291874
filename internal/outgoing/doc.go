// Package outgoing holds the one type an outcome travels in from the use
// case that decides it to the broker that takes it: outcome builds an Event,
// the store keeps it in the outbox, the outbox drain hands it to a
// publisher, and the publisher sends it. It imports nothing, so every one of
// them can import it without reaching past its layer.
package outgoing
