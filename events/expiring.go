package events

// TypeExpiring says that a gateway created with an expiry (the create
// request's vpngwexpires) is about to be deleted: it is announced once 24
// hours before the expiry and once 1 hour before (only the nearer one when
// the gateway's life is shorter), then at the expiry vpngw deletes the
// gateway as a delete request would and announces TypeDeleted. Data is
// Expiring.
const TypeExpiring = "io.vpngw.gateway.expiring"

// Warnings an Expiring event carries in Within.
const (
	ExpiringWithinDay  = "24h"
	ExpiringWithinHour = "1h"
)

// Expiring is the data of io.vpngw.gateway.expiring: Request names the
// create request that made the gateway, ExpiresAt (RFC 3339, UTC) is when
// it is deleted, and Within which warning this is (ExpiringWithinDay or
// ExpiringWithinHour).
type Expiring struct {
	Request      RequestRef `json:"Request"`
	VpnGatewayId string     `json:"VpnGatewayId"`
	RegionId     string     `json:"RegionId"`
	ExpiresAt    string     `json:"ExpiresAt"`
	Within       string     `json:"Within"`
}
