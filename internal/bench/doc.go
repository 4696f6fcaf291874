// Package bench measures vpngw against what people use instead of it, on the
// same machine and against the same VPC API emulator (internal/vpcsim over
// loopback HTTP), so that each ratio shows what vpngw's own work costs or
// saves:
//
//   - BenchmarkProvision/{inprocess,http}/{sqlite,postgres}: one valid request
//     end to end (intake, validation, the store, CreateVpnGateway through the
//     SDK, the outbox published to an embedded NATS JetStream), beside
//     BenchmarkBareSDKCreate, a loop of the SDK's typed CreateVpnGateway; the
//     ...Concurrent variants keep 8 requests in flight.
//   - BenchmarkProvisionFloor/{sqlite,postgres}: the least a request that
//     keeps the promises costs besides its API call (two commits that sync,
//     a read, a publish awaiting JetStream's ack, a mark), on bare tables: a
//     bound no figure of BenchmarkProvision can go below on the machine.
//   - BenchmarkReconcileTick/{100,1000,10000}: one reconcile tick over that
//     many pending gateways, beside BenchmarkPerGatewayPoller, which calls
//     DescribeVpnGateway once per gateway as Terraform's provider and the
//     CLI's waiter do; BenchmarkReconcileSettle is the tick in which every
//     one of them turned active.
//   - BenchmarkAnnounce/gateways={1,50}/mode={adaptive,fixed-tick,terraform-20s}:
//     requests arriving over two minutes, gateways taking 60 to 300 s, on an
//     emulated clock 30 times as fast; p50-ns and p95-ns from "the API
//     reports it active" to "its outcome reached a broker subscriber", and
//     calls/gateway, for reconcile as built, reconcile checking once per
//     one-minute tick (as before), and a per-gateway poller every 20 s
//     (Terraform's provider).
//   - BenchmarkFootprint/provision: the built provision binary under a
//     Function Compute runtime API (internal/runtime/fcapi): start to first
//     answer, and resident memory after 100 concurrent invocations.
//
// Every benchmark reports its figures with b.ReportMetric (req/s, p50-ns,
// p99-ns, api-calls/tick, api-ns/tick, hwm-MiB ...) so that benchstat can
// compare runs (it shows the -ns figures in seconds, as it does ns/op, which
// is the time per request or per tick); no test here asserts a time. The tests in this package check that the
// harness measures what it claims to (gateways created, calls counted), and
// run with `go test` like any other.
//
// Nothing imports this package; `make bench` runs it, and docs/PERFORMANCE.md
// holds its latest figures.
package bench
