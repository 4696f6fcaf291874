package vpcsim

import (
	"slices"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/vpngw/vpngw/internal/testclock"
)

func TestDescribeVpnGatewaysPagesThroughEveryGateway(t *testing.T) {
	sim := startSim(t)
	c := sim.client(t)
	created := map[string]bool{}
	for range 120 {
		created[mustCreate(t, c, sim.createRequest()).VpnGatewayId] = true
	}

	seen := map[string]bool{}
	var sizes []int
	for page := 1; ; page++ {
		r := sim.listRequest()
		r.PageSize = requests.NewInteger(50)
		r.PageNumber = requests.NewInteger(page)
		resp, err := c.DescribeVpnGateways(r)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if resp.TotalCount != 120 || resp.PageSize != 50 || resp.PageNumber != page {
			t.Fatalf("page %d: TotalCount %d PageSize %d PageNumber %d", page, resp.TotalCount, resp.PageSize, resp.PageNumber)
		}
		sizes = append(sizes, len(resp.VpnGateways.VpnGateway))
		for _, g := range resp.VpnGateways.VpnGateway {
			if seen[g.VpnGatewayId] || !created[g.VpnGatewayId] {
				t.Fatalf("page %d: gateway %s repeated or unknown", page, g.VpnGatewayId)
			}
			seen[g.VpnGatewayId] = true
		}
		if page*50 >= resp.TotalCount {
			break
		}
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) || len(seen) != 120 {
		t.Fatalf("page sizes %v, %d gateways seen", sizes, len(seen))
	}
	if n := sim.Calls(actionDescribeList); n != 3 {
		t.Fatalf("Calls(DescribeVpnGateways) = %d, want 3", n)
	}

	// Past the end: an empty page, not an error.
	r := sim.listRequest()
	r.PageSize, r.PageNumber = requests.NewInteger(50), requests.NewInteger(4)
	resp, err := c.DescribeVpnGateways(r)
	if err != nil || len(resp.VpnGateways.VpnGateway) != 0 || resp.TotalCount != 120 {
		t.Fatalf("page 4: %v, %d gateways, total %d", err, len(resp.VpnGateways.VpnGateway), resp.TotalCount)
	}
	// The default page size is 10.
	resp, err = c.DescribeVpnGateways(sim.listRequest())
	if err != nil || len(resp.VpnGateways.VpnGateway) != 10 || resp.PageSize != 10 || resp.PageNumber != 1 {
		t.Fatalf("default page: %v, %d gateways, PageSize %d", err, len(resp.VpnGateways.VpnGateway), resp.PageSize)
	}
}

func TestDescribeVpnGatewaysPageSizeLimits(t *testing.T) {
	sim := startSim(t)
	c := sim.client(t)
	for _, tc := range []struct{ size, number string }{{"0", "1"}, {"51", "1"}, {"ten", "1"}, {"10", "0"}} {
		r := sim.listRequest()
		r.PageSize, r.PageNumber = requests.Integer(tc.size), requests.Integer(tc.number)
		_, err := c.DescribeVpnGateways(r)
		wantServerError(t, err, "InvalidParameter", 400)
	}
	for _, size := range []int{1, 50} {
		r := sim.listRequest()
		r.PageSize = requests.NewInteger(size)
		if _, err := c.DescribeVpnGateways(r); err != nil {
			t.Fatalf("PageSize %d: %v", size, err)
		}
	}
}

func TestDescribeVpnGatewaysFilters(t *testing.T) {
	clock := testclock.New(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	sim := startSim(t, WithClock(clock.Now), WithProvisioningDelay(time.Minute))
	c := sim.client(t)

	create := func(edit func(*vpc.CreateVpnGatewayRequest)) string {
		r := sim.createRequest()
		edit(r)
		return mustCreate(t, c, r).VpnGatewayId
	}
	// a: VPC 1, tagged env=prod, active, locked.
	a := create(func(r *vpc.CreateVpnGatewayRequest) {
		r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "env", Value: "prod"}, {Key: "team", Value: "net"}}
	})
	// b: VPC 2, tagged env=dev, other resource group, active.
	b := create(func(r *vpc.CreateVpnGatewayRequest) {
		r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "vpc-bp1vpngwdemo0000002", "vsw-bp1vpngwdemo0000004", "vsw-bp1vpngwdemo0000005"
		r.ResourceGroupId = "rg-acfmteam000002"
		r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "env", Value: "dev"}}
	})
	clock.Advance(time.Minute)
	// c3: VPC 1, untagged, still init.
	c3 := create(func(r *vpc.CreateVpnGatewayRequest) {})
	// Another region must never show up.
	create(func(r *vpc.CreateVpnGatewayRequest) {
		r.RegionId, r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "cn-beijing", "vpc-2zevpngwdemo0000001", "vsw-2zevpngwdemo0000001", "vsw-2zevpngwdemo0000002"
	})
	if err := sim.SetBusinessStatus(a, BusinessFinancialLocked); err != nil {
		t.Fatal(err)
	}

	tag := func(k, v string) *[]vpc.DescribeVpnGatewaysTag {
		return &[]vpc.DescribeVpnGatewaysTag{{Key: k, Value: v}}
	}
	cases := []struct {
		name string
		edit func(*vpc.DescribeVpnGatewaysRequest)
		want []string // newest first
	}{
		{"no filter", func(r *vpc.DescribeVpnGatewaysRequest) {}, []string{c3, b, a}},
		{"VpcId", func(r *vpc.DescribeVpnGatewaysRequest) { r.VpcId = demoVPC }, []string{c3, a}},
		{"VpnGatewayId", func(r *vpc.DescribeVpnGatewaysRequest) { r.VpnGatewayId = b }, []string{b}},
		{"unknown VpnGatewayId", func(r *vpc.DescribeVpnGatewaysRequest) { r.VpnGatewayId = "vpn-bp1nothere" }, nil},
		{"Status active", func(r *vpc.DescribeVpnGatewaysRequest) { r.Status = StatusActive }, []string{b, a}},
		{"Status init", func(r *vpc.DescribeVpnGatewaysRequest) { r.Status = StatusInit }, []string{c3}},
		{"BusinessStatus", func(r *vpc.DescribeVpnGatewaysRequest) { r.BusinessStatus = BusinessFinancialLocked }, []string{a}},
		{"ResourceGroupId", func(r *vpc.DescribeVpnGatewaysRequest) { r.ResourceGroupId = "rg-acfmteam000002" }, []string{b}},
		{"tag key and value", func(r *vpc.DescribeVpnGatewaysRequest) { r.Tag = tag("env", "prod") }, []string{a}},
		{"tag key only", func(r *vpc.DescribeVpnGatewaysRequest) { r.Tag = tag("env", "") }, []string{b, a}},
		{"two tags", func(r *vpc.DescribeVpnGatewaysRequest) {
			r.Tag = &[]vpc.DescribeVpnGatewaysTag{{Key: "env", Value: "prod"}, {Key: "team", Value: "net"}}
		}, []string{a}},
		{"filters combine", func(r *vpc.DescribeVpnGatewaysRequest) { r.VpcId, r.Status = demoVPC, StatusActive }, []string{a}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := sim.listRequest()
			tc.edit(r)
			resp, err := c.DescribeVpnGateways(r)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range resp.VpnGateways.VpnGateway {
				got = append(got, g.VpnGatewayId)
			}
			if !slices.Equal(got, tc.want) || resp.TotalCount != len(tc.want) {
				t.Fatalf("got %v (total %d), want %v", got, resp.TotalCount, tc.want)
			}
		})
	}
}

func TestDescribeVpnGatewayErrors(t *testing.T) {
	sim := startSim(t)
	c := sim.client(t)
	id := mustCreate(t, c, sim.createRequest()).VpnGatewayId

	_, err := c.DescribeVpnGateway(sim.describeRequest("vpn-bp1doesnotexist0000000"))
	wantServerError(t, err, "InvalidVpnGatewayInstanceId.NotFound", 400)

	r := sim.describeRequest(id)
	r.RegionId = "cn-shanghai"
	_, err = c.DescribeVpnGateway(r)
	wantServerError(t, err, "InvalidVpnGatewayInstanceId.NotFound", 400)

	_, err = c.DescribeVpnGateway(sim.describeRequest(""))
	wantServerError(t, err, "MissingVpnGatewayId", 400)

	r = sim.describeRequest(id)
	r.RegionId = "xx-nowhere-1"
	_, err = c.DescribeVpnGateway(r)
	wantServerError(t, err, "InvalidRegionId.NotFound", 404)
}

func TestDeleteVpnGateway(t *testing.T) {
	clock := testclock.New(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	sim := startSim(t, WithClock(clock.Now), WithProvisioningDelay(time.Minute), WithDeletionDelay(30*time.Second))
	c := sim.client(t)
	id := mustCreate(t, c, sim.createRequest()).VpnGatewayId

	del := vpc.CreateDeleteVpnGatewayRequest()
	del.Scheme, del.Domain = "http", sim.host
	del.RegionId, del.VpnGatewayId, del.ClientToken = demoRegion, id, "delete-1"
	_, err := c.DeleteVpnGateway(del)
	wantServerError(t, err, "VpnGateway.Configuring", 400)

	clock.Advance(time.Minute)
	if _, err := c.DeleteVpnGateway(del); err != nil {
		t.Fatalf("delete an active gateway: %v", err)
	}
	g, err := c.DescribeVpnGateway(sim.describeRequest(id))
	if err != nil || g.Status != StatusDeleting {
		t.Fatalf("right after delete: %v, status %q", err, g.Status)
	}
	// A retry with the same token is answered as the first call was.
	if _, err := c.DeleteVpnGateway(del); err != nil {
		t.Fatalf("retried delete: %v", err)
	}
	clock.Advance(30 * time.Second)
	_, err = c.DescribeVpnGateway(sim.describeRequest(id))
	wantServerError(t, err, "InvalidVpnGatewayInstanceId.NotFound", 400)
	if n := len(sim.Gateways()); n != 0 {
		t.Fatalf("%d gateways left", n)
	}

	other := vpc.CreateDeleteVpnGatewayRequest()
	other.Scheme, other.Domain = "http", sim.host
	other.RegionId, other.VpnGatewayId = demoRegion, "vpn-bp1other"
	other.ClientToken = "delete-1"
	_, err = c.DeleteVpnGateway(other)
	wantServerError(t, err, "IdempotentParameterMismatch", 400)
}

func TestAdminDeleteAndBusinessStatus(t *testing.T) {
	sim := startSim(t)
	c := sim.client(t)
	id := mustCreate(t, c, sim.createRequest()).VpnGatewayId

	if err := sim.SetBusinessStatus(id, "Overdue"); err == nil {
		t.Fatal("SetBusinessStatus accepted an undocumented status")
	}
	if err := sim.SetBusinessStatus(id, BusinessFinancialLocked); err != nil {
		t.Fatal(err)
	}
	g, err := c.DescribeVpnGateway(sim.describeRequest(id))
	if err != nil || g.BusinessStatus != BusinessFinancialLocked {
		t.Fatalf("%v, BusinessStatus %q", err, g.BusinessStatus)
	}
	if err := sim.Delete(id); err != nil {
		t.Fatal(err)
	}
	if err := sim.Delete(id); err == nil {
		t.Fatal("deleting twice succeeded")
	}
	_, err = c.DescribeVpnGateway(sim.describeRequest(id))
	wantServerError(t, err, "InvalidVpnGatewayInstanceId.NotFound", 400)
}

func TestDeleteVpnGatewayRefusals(t *testing.T) {
	clock := testclock.New(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	sim := startSim(t, WithClock(clock.Now), WithDeletionDelay(30*time.Second))
	c := sim.client(t)
	deleteReq := func(id, token string) *vpc.DeleteVpnGatewayRequest {
		del := vpc.CreateDeleteVpnGatewayRequest()
		del.Scheme, del.Domain = "http", sim.host
		del.RegionId, del.VpnGatewayId, del.ClientToken = demoRegion, id, token
		return del
	}

	_, err := c.DeleteVpnGateway(deleteReq("vpn-bp1nosuchgateway", "t-unknown"))
	wantServerError(t, err, "InvalidVpnGatewayInstanceId.NotFound", 400)
	_, err = c.DeleteVpnGateway(deleteReq("", "t-none"))
	wantServerError(t, err, "MissingVpnGatewayId", 400)

	withConns := mustCreate(t, c, sim.createRequest()).VpnGatewayId
	clock.Advance(time.Hour) // provisioned
	if err := sim.SetIpsecConnections(withConns, 2); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteVpnGateway(deleteReq(withConns, "t-conns"))
	wantServerError(t, err, "DependencyViolation.VpnConnection", 400)
	// Once the connections are deleted, the same call (a refusal is not
	// remembered against its token) deletes it.
	if err := sim.SetIpsecConnections(withConns, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteVpnGateway(deleteReq(withConns, "t-conns")); err != nil {
		t.Fatalf("delete once the connections are gone: %v", err)
	}

	prepay := sim.createRequest()
	prepay.InstanceChargeType, prepay.Period = "PREPAY", requests.NewInteger(1)
	sub := mustCreate(t, c, prepay).VpnGatewayId
	clock.Advance(time.Hour)
	_, err = c.DeleteVpnGateway(deleteReq(sub, "t-sub"))
	wantServerError(t, err, "ChargeTypeViolation", 400)
	clock.Advance(32 * 24 * time.Hour) // past the month it was bought for
	if _, err := c.DeleteVpnGateway(deleteReq(sub, "t-sub")); err != nil {
		t.Fatalf("delete an expired subscription gateway: %v", err)
	}
	clock.Advance(31 * time.Second)
	list := sim.listRequest()
	resp, err := c.DescribeVpnGateways(list)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range resp.VpnGateways.VpnGateway {
		if g.VpnGatewayId == sub || g.VpnGatewayId == withConns {
			t.Errorf("%s still listed (%s) after its deletion delay", g.VpnGatewayId, g.Status)
		}
	}
}
