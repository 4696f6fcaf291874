// Package reconcile is the reconcile use case: one tick checks the gateways
// that CreateVpnGateway accepted and records, for each, that it became active,
// that it failed (timed out, vanished, or was financially locked), or nothing
// yet. It asks the API in as few calls as the API allows: DescribeVpnGateways
// per region (narrowed to a VPC when every pending gateway of the region is in
// one), PageSize 50, matching by id, stopping as soon as every pending
// gateway of the region has been seen. A gateway the whole listing missed is
// asked for by its id (one call each) before it is announced gone: a
// deletion elsewhere while the tick pages shifts the pages, and can move a
// gateway onto a page already read.
//
// A tick keeps checking while anything it claimed is pending, until shortly
// before its deadline, on a Schedule: young gateways every few seconds,
// older ones less often (schedule.go); each round also claims what became
// pending meanwhile and publishes what it settled (watch.go). A batch an
// invocation left is continued beside the checks, which keep their
// schedule while it creates the items left (batches.go). Its calls
// keep within a share of the DescribeVpnGateways rate, reserved in the
// store's api_slots by every instance together (WithQuotaShare).
//
// Work is claimed with a lease in the store, so overlapping ticks never
// handle the same request twice, and a tick stops claiming with enough of its
// deadline left to record what it did.
package reconcile
