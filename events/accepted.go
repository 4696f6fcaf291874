package events

// Accepted is the data of io.vpngw.gateway.accepted: CreateVpnGateway
// answered with a gateway ID, and the gateway is being provisioned.
type Accepted struct {
	Request      RequestRef `json:"Request"`
	VpnGatewayId string     `json:"VpnGatewayId"`
	OrderId      int64      `json:"OrderId,omitempty"`
	RegionId     string     `json:"RegionId"`
	VpcId        string     `json:"VpcId"`
	Name         string     `json:"Name,omitempty"`
	ClientToken  string     `json:"ClientToken"`
	RequestId    string     `json:"RequestId,omitempty"`
}
