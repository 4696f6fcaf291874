// Package provision is the provision use case: one gateway request in, one
// recorded outcome out. It validates the request, records it before any API
// call, calls CreateVpnGateway with the request's ClientToken, and records the
// result together with its outcome event in one store operation.
//
// It never knows which shape a request arrived in (intake does that) nor which
// runtime invoked it (internal/runtime does that). Transient failures come
// back as errors so that the platform redelivers the event; permanent ones are
// recorded and announced, and the invocation succeeds.
package provision
