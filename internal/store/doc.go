// Package store records gateway requests and the CloudEvents they owe their
// senders, on SQLite (embedded, the default), PostgreSQL or MySQL/MariaDB.
//
// A request is inserted once per key however often its event is delivered;
// its state moves only by conditional transitions; reconcile ticks lease
// batches of open requests with Claim so that several ticks or instances can
// run side by side without handling a request twice. Every event a change
// owes is written to the outbox in the same transaction as the change, and a
// relay publishes the outbox in order (Unsent, MarkSent): a request is never
// changed without its event being queued, nor an event queued for a change
// that was rolled back.
//
// Open picks the backend from the URL scheme and applies the embedded schema
// migrations. The request handler, the reconcile tick and the outbox relay
// import it, each through the few Store methods it calls; the storetest
// subpackage is the contract every backend passes.
package store
