// Package outbox publishes the store's outbox: every outcome is written there
// in the same transaction as the state change that caused it, and leaves it
// only after the broker acknowledged it. The drain is the only caller of a
// publisher.
package outbox
