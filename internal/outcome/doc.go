// Package outcome builds the CloudEvents vpngw emits (accepted, failed,
// active, validated, and a batch's completed summary) in structured mode,
// with ids that depend only on the request and the outcome, so that a
// republished outcome carries the same id and consumers (and JetStream) can
// drop the duplicate.
//
// The provision and reconcile use cases import it; it imports only the event
// contract, the CloudEvents SDK's event type and the outgoing.Event it
// returns.
package outcome
