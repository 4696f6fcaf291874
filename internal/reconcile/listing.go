package reconcile

import (
	"context"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/store"
)

// vpcFilter is the listing filter for reqs of one region: their VPC when
// they all share one, so that the listing holds only that VPC's gateways.
func vpcFilter(reqs []store.Request) cloud.Filter {
	vpcs := map[string]bool{}
	for _, r := range reqs {
		vpcs[r.VpcID] = true
	}
	var f cloud.Filter
	if len(vpcs) == 1 {
		for v := range vpcs {
			f.VpcId = v
		}
	}
	return f
}

// listPage reads one page of region's gateways, at its call start in the
// checks' share, and counts the call.
func (s *Service) listPage(ctx context.Context, rep *Report, region string, f cloud.Filter, page int) (cloud.Page, error) {
	if err := s.pace(ctx, region); err != nil {
		return cloud.Page{}, err
	}
	p, err := s.api.DescribeVpnGateways(ctx, region, f, page, cloud.MaxPageSize)
	rep.APICalls++
	rep.CallsByRegion[region]++
	return p, err
}

// lastPage reports whether p, page number page, ends the listing.
func lastPage(p cloud.Page, page int) bool {
	return len(p.Gateways) == 0 || page*cloud.MaxPageSize >= p.TotalCount
}
