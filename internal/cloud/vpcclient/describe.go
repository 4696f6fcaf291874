package vpcclient

import (
	"context"
	"strconv"

	"github.com/vpngw/vpngw/internal/cloud"
)

// DescribeVpnGateways reads one page (1-based) of a region's gateways.
func (c *Client) DescribeVpnGateways(ctx context.Context, region string, f cloud.Filter, pageNumber, pageSize int) (cloud.Page, error) {
	if pageSize <= 0 || pageSize > cloud.MaxPageSize {
		pageSize = cloud.MaxPageSize
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
	// The answer's members have the names of cloud.Gateway's fields; RegionId is
	// not among them, so it is filled in from the request.
	var out struct {
		RequestId   string
		TotalCount  int
		PageNumber  int
		PageSize    int
		VpnGateways struct{ VpnGateway []cloud.Gateway }
	}
	if err := c.call(ctx, region, ActionDescribeVpnGateways, p, &out); err != nil {
		return cloud.Page{}, err
	}
	page := cloud.Page{Gateways: out.VpnGateways.VpnGateway, TotalCount: out.TotalCount, PageNumber: out.PageNumber, PageSize: out.PageSize, RequestID: out.RequestId}
	for i := range page.Gateways {
		page.Gateways[i].RegionId = region
	}
	return page, nil
}
