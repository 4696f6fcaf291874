package events

// GatewayRequest is the data of an io.vpngw.gateway.requested event: the
// CreateVpnGateway request parameters, named exactly as the VPC API (2016-04-28)
// names them. Optional scalars are pointers so that "absent" and "zero" differ.
type GatewayRequest struct {
	RegionId                  string `json:"RegionId"`
	VpcId                     string `json:"VpcId"`
	Bandwidth                 *int   `json:"Bandwidth"`
	Name                      string `json:"Name,omitempty"`
	InstanceChargeType        string `json:"InstanceChargeType,omitempty"`
	Period                    *int   `json:"Period,omitempty"`
	AutoPay                   *bool  `json:"AutoPay,omitempty"`
	EnableIpsec               *bool  `json:"EnableIpsec,omitempty"`
	EnableSsl                 *bool  `json:"EnableSsl,omitempty"`
	SslConnections            *int   `json:"SslConnections,omitempty"`
	VSwitchId                 string `json:"VSwitchId,omitempty"`
	VpnType                   string `json:"VpnType,omitempty"`
	ClientToken               string `json:"ClientToken,omitempty"`
	NetworkType               string `json:"NetworkType,omitempty"`
	DisasterRecoveryVSwitchId string `json:"DisasterRecoveryVSwitchId,omitempty"`
	ResourceGroupId           string `json:"ResourceGroupId,omitempty"`
	Tags                      []Tag  `json:"Tags,omitempty"`
}

// Tag is one resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}
