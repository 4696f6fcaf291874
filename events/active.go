package events

// Active is the data of io.vpngw.gateway.active: the gateway's facts as
// DescribeVpnGateways reports them.
type Active struct {
	Request                    RequestRef `json:"Request"`
	VpnGatewayId               string     `json:"VpnGatewayId"`
	RegionId                   string     `json:"RegionId"`
	VpcId                      string     `json:"VpcId"`
	Name                       string     `json:"Name,omitempty"`
	Status                     string     `json:"Status"`
	BusinessStatus             string     `json:"BusinessStatus,omitempty"`
	Spec                       string     `json:"Spec,omitempty"`
	Bandwidth                  int        `json:"Bandwidth,omitempty"`
	InternetIp                 string     `json:"InternetIp,omitempty"`
	DisasterRecoveryInternetIp string     `json:"DisasterRecoveryInternetIp,omitempty"`
	SslVpnInternetIp           string     `json:"SslVpnInternetIp,omitempty"`
	SslMaxConnections          int        `json:"SslMaxConnections,omitempty"`
	ChargeType                 string     `json:"ChargeType,omitempty"`
	CreateTime                 int64      `json:"CreateTime,omitempty"`
	OrderId                    int64      `json:"OrderId,omitempty"`
}
