package events

// TypeOrphaned says a gateway vpngw created exists although its request
// was announced failed (Timeout, FinancialLocked, NotFound...): it keeps
// costing money until someone deletes it. Reconcile announces it once per
// request; data is Orphaned.
const TypeOrphaned = "io.vpngw.gateway.orphaned"

// Actions an Orphaned event reports, as the operator policy's orphans key
// sets them.
const (
	// OrphanReport: the gateway is reported and left as it is.
	OrphanReport = "report"
	// OrphanDelete: vpngw records a delete request for it (Deletion names
	// it) and deletes it; io.vpngw.gateway.deleted follows.
	OrphanDelete = "delete"
)

// Orphaned is the data of TypeOrphaned.
type Orphaned struct {
	// Request names the create request that was announced failed.
	Request RequestRef `json:"Request"`
	// VpnGatewayId, RegionId, Status and BusinessStatus are the gateway as
	// DescribeVpnGateways reported it.
	VpnGatewayId   string `json:"VpnGatewayId"`
	RegionId       string `json:"RegionId"`
	Status         string `json:"Status"`
	BusinessStatus string `json:"BusinessStatus,omitempty"`
	// FailedCode is the Code the request's failed event carried, when the
	// record keeps it; FailedAt is when the request was failed.
	FailedCode string `json:"FailedCode,omitempty"`
	FailedAt   string `json:"FailedAt"`
	// Action is what vpngw does about it: OrphanReport or OrphanDelete.
	Action string `json:"Action"`
	// Deletion names the delete request recorded for it (Action delete).
	Deletion *CreateRef `json:"Deletion,omitempty"`
}
