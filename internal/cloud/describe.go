package cloud

import (
	"strconv"
	"strings"
)

// MaxPageSize is the largest PageSize DescribeVpnGateways accepts.
const MaxPageSize = 50

// Gateway is one VPN gateway as DescribeVpnGateways reports it.
type Gateway struct {
	VpnGatewayId               string
	RegionId                   string
	VpcId                      string
	VSwitchId                  string
	DisasterRecoveryVSwitchId  string
	Name                       string
	Status                     string
	BusinessStatus             string
	ChargeType                 string
	Spec                       string
	InternetIp                 string
	DisasterRecoveryInternetIp string
	SslVpnInternetIp           string
	SslMaxConnections          int
	NetworkType                string
	VpnType                    string
	CreateTime                 int64
	EndTime                    int64
	// Tags are the gateway's tags, as the answer nests them
	// ({"Tags": {"Tag": [...]}}).
	Tags Tags
}

// Tags is a gateway's tags as DescribeVpnGateways reports them.
type Tags struct {
	Tag []Tag
}

// Tag is one resource tag.
type Tag struct {
	Key   string
	Value string
}

// Value returns the value of the tag key, and whether the gateway has it.
func (t Tags) Value(key string) (string, bool) {
	for _, tag := range t.Tag {
		if tag.Key == key {
			return tag.Value, true
		}
	}
	return "", false
}

// Bandwidth reads Mbit/s out of Spec ("5M" → 5; "1G" → 1000).
func (g Gateway) Bandwidth() int {
	s := strings.TrimSpace(g.Spec)
	mult := 1
	switch {
	case strings.HasSuffix(s, "M"):
		s = strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		s, mult = strings.TrimSuffix(s, "G"), 1000
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n * mult
}

// Page is one page of DescribeVpnGateways.
type Page struct {
	Gateways   []Gateway
	TotalCount int
	PageNumber int
	PageSize   int
	RequestID  string
}

// Filter narrows DescribeVpnGateways.
type Filter struct {
	VpcId        string
	VpnGatewayId string
	Status       string
}
