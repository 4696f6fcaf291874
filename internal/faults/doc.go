// Package faults is vpngw's fault suite: it runs the whole pipeline (intake,
// provision, the VPC API through the SDK, the store, the outbox, the broker,
// reconcile) through injected failures and checks, after every scenario,
// the invariants docs/RELIABILITY.md promises under "What survives what":
//
//   - one gateway per distinct request the API accepted, none for the rest;
//   - exactly one terminal outcome per request (active or failed), under one
//     event id in the JetStream stream however often it was published;
//   - nothing left received or pending, and every failure with a reason;
//   - exactly one accepted event per accepted request, and no API call for a
//     request that failed validation.
//
// Scenarios: redelivery (every request delivered several times at once),
// API faults (throttling and 5xx on every call), lost CreateVpnGateway
// answers, the broker down for part of the run, the provision and reconcile
// binaries killed with SIGKILL and restarted, the database restarted
// mid-run (PostgreSQL, opt-in), outcomes larger than the broker takes in
// the middle of the stream (parked in the store; nothing behind them
// waits), and a credentials outage (the access key rotated for a scaled
// minute, then fixed: no request may fail). `make faults` runs it;
// docs/RELIABILITY.md
// describes it and records its figures.
//
// Everything lives in the package's tests; nothing imports it.
package faults
