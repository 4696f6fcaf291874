// Package store is the record of gateway requests and the CloudEvents they
// owe their senders: the request, its states, the outbox entry, and the Store
// contract every backend keeps. It holds no driver; the use cases (provision,
// reconcile, the outbox relay, the webhook) import it for these types and
// declare the few Store methods each calls. Package sqlstore implements the
// contract on SQLite, PostgreSQL and MySQL/MariaDB; the storetest subpackage
// is the suite every implementation passes.
//
// A request is inserted once per key however often its event is delivered;
// under an operator quota, InsertWithin counts the source's requests and
// inserts in one transaction that holds the source's lock, so instances
// recording at the same moment never exceed the quota together;
// its state moves only by conditional transitions; reconcile ticks lease
// batches of open requests with Claim so that several ticks or instances can
// run side by side without handling a request twice. Every event a change
// owes is written to the outbox in the same transaction as the change, and a
// relay publishes the outbox in order (Unsent, MarkSent): a request is never
// changed without its event being queued, nor an event queued for a change
// that was rolled back. An event the broker refuses for good is parked (Park)
// with the reason, so the ones behind it go on; Parked lists such events and
// Unpark returns them to the outbox.
package store
