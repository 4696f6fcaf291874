package cloud

import (
	"context"
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

// DescribeVpnGateways reads one page (1-based) of a region's gateways.
func (c *Client) DescribeVpnGateways(ctx context.Context, region string, f Filter, pageNumber, pageSize int) (Page, error) {
	if pageSize <= 0 || pageSize > MaxPageSize {
		pageSize = MaxPageSize
	}
	p := map[string]string{
		"PageNumber": strconv.Itoa(pageNumber),
		"PageSize":   strconv.Itoa(pageSize),
	}
	if f.VpcId != "" {
		p["VpcId"] = f.VpcId
	}
	if f.VpnGatewayId != "" {
		p["VpnGatewayId"] = f.VpnGatewayId
	}
	if f.Status != "" {
		p["Status"] = f.Status
	}
	// The answer's members have the names of Gateway's fields; RegionId is
	// not among them, so it is filled in from the request.
	var out struct {
		RequestId   string
		TotalCount  int
		PageNumber  int
		PageSize    int
		VpnGateways struct{ VpnGateway []Gateway }
	}
	if _, err := c.call(ctx, region, ActionDescribeVpnGateways, p, &out); err != nil {
		return Page{}, err
	}
	page := Page{Gateways: out.VpnGateways.VpnGateway, TotalCount: out.TotalCount, PageNumber: out.PageNumber, PageSize: out.PageSize, RequestID: out.RequestId}
	for i := range page.Gateways {
		page.Gateways[i].RegionId = region
	}
	return page, nil
}
