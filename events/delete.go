package events

// Deletion event types.
const (
	// TypeDeleteRequested asks vpngw to delete a gateway it created; data
	// is DeleteRequest. It arrives every way a TypeRequested does, but never
	// inside a batch: a batch holds creates only.
	TypeDeleteRequested = "io.vpngw.gateway.delete.requested"
	// TypeDeleted says the gateway a delete request named is gone:
	// DescribeVpnGateways no longer reports it; data is Deleted. A delete
	// request that cannot be done is answered by TypeFailed with Stage
	// StageDeletion.
	TypeDeleted = "io.vpngw.gateway.deleted"
)

// StageDeletion is the Stage of a failed event that answers a delete
// request the API refused (its Code is the API's), or that vpngw refused
// because the gateway is not one it created (CodeNotCreatedByVpngw).
const StageDeletion = "deletion"

// Codes of deletion refusals vpngw decides itself.
const (
	// CodeNotCreatedByVpngw: the store holds no create request that made
	// the gateway, or DescribeVpnGateways does not report the vpngw:* tags
	// the create path sets on it. vpngw deletes only what it created.
	CodeNotCreatedByVpngw = "NotCreatedByVpngw"
)

// DeleteRequest is the data of io.vpngw.gateway.delete.requested. It names
// the gateway one of two ways, never both: by RegionId and VpnGatewayId, or
// by Request, the create request whose gateway is to be deleted.
type DeleteRequest struct {
	RegionId     string     `json:"RegionId,omitempty"`
	VpnGatewayId string     `json:"VpnGatewayId,omitempty"`
	Request      *CreateRef `json:"Request,omitempty"`
}

// CreateRef names a create request by its CloudEvents source and id.
type CreateRef struct {
	Source  string `json:"Source"`
	EventID string `json:"Id"`
}

// Deleted is the data of io.vpngw.gateway.deleted: Request names the
// delete request it answers, Created the create request that made the
// gateway, and RequestId is DeleteVpnGateway's API request id.
type Deleted struct {
	Request      RequestRef `json:"Request"`
	VpnGatewayId string     `json:"VpnGatewayId"`
	RegionId     string     `json:"RegionId"`
	Created      *CreateRef `json:"Created,omitempty"`
	RequestId    string     `json:"RequestId,omitempty"`
}
