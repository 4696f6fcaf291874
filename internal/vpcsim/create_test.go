package vpcsim

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/vpngw/vpngw/internal/testclock"
)

func TestDefaultSeedHasTheSampleRequestResources(t *testing.T) {
	seed := DefaultSeed()
	if err := seed.Validate(); err != nil {
		t.Fatalf("default seed: %v", err)
	}
	zones := map[string]string{}
	for _, sw := range seed.VSwitches {
		if sw.VPCID == demoVPC && sw.RegionID == demoRegion {
			zones[sw.ID] = sw.ZoneID
		}
	}
	if zones[demoVSw1] == "" || zones[demoVSw2] == "" || zones[demoVSw1] == zones[demoVSw2] {
		t.Fatalf("want %s and %s in %s in different zones, got %v", demoVSw1, demoVSw2, demoVPC, zones)
	}
	for _, r := range []string{"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "ap-southeast-1", "us-west-1", "eu-central-1"} {
		if !IsDualTunnelRegion(r) {
			t.Errorf("%s should be a dual-tunnel region", r)
		}
		found := false
		for _, s := range seed.Regions {
			found = found || s == r
		}
		if !found {
			t.Errorf("default seed lacks region %s", r)
		}
	}
	if IsDualTunnelRegion("me-central-1") {
		t.Error("me-central-1 is documented as not supporting dual-tunnel mode")
	}
}

func TestCreateGoesFromInitToActive(t *testing.T) {
	clock := testclock.New(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC))
	sim := startSim(t, WithClock(clock.Now), WithProvisioningDelay(3*time.Minute))
	c := sim.client(t)

	r := sim.createRequest()
	r.Name = "demo-gw"
	r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "team", Value: "net"}}
	created := mustCreate(t, c, r)
	if !strings.HasPrefix(created.VpnGatewayId, "vpn-bp1") || len(created.VpnGatewayId) != len("vpn-bp1")+18 {
		t.Errorf("VpnGatewayId %q does not look like a Hangzhou gateway ID", created.VpnGatewayId)
	}
	if created.Name != "demo-gw" || created.OrderId < 1e14 || !requestIDPattern.MatchString(created.RequestId) {
		t.Errorf("unexpected answer %+v", created)
	}

	describe := func() *vpc.DescribeVpnGatewayResponse {
		t.Helper()
		resp, err := c.DescribeVpnGateway(sim.describeRequest(created.VpnGatewayId))
		if err != nil {
			t.Fatalf("DescribeVpnGateway: %v", err)
		}
		return resp
	}
	if g := describe(); g.Status != StatusInit || g.InternetIp != "" || g.BusinessStatus != BusinessNormal {
		t.Fatalf("right after create: status %q, ip %q, business %q", g.Status, g.InternetIp, g.BusinessStatus)
	}
	clock.Advance(3*time.Minute - time.Second)
	if g := describe(); g.Status != StatusInit {
		t.Fatalf("a second before the delay: status %q, want init", g.Status)
	}
	clock.Advance(time.Second)
	g := describe()
	if g.Status != StatusActive || g.InternetIp == "" || g.DisasterRecoveryInternetIp == "" || g.InternetIp == g.DisasterRecoveryInternetIp {
		t.Fatalf("after the delay: status %q, ip %q, dr ip %q", g.Status, g.InternetIp, g.DisasterRecoveryInternetIp)
	}
	if g.Spec != "5M" || g.VpcId != demoVPC || g.VSwitchId != demoVSw1 || g.DisasterRecoveryVSwitchId != demoVSw2 ||
		g.IpsecVpn != "enable" || g.SslVpn != "disable" || g.NetworkType != "public" || g.VpnType != "Normal" ||
		g.ChargeType != "POSTPAY" || g.Name != "demo-gw" || g.ResourceGroupId != DefaultResourceGroupID {
		t.Errorf("unexpected gateway %+v", g)
	}
	if want := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC).UnixMilli(); g.CreateTime != want || g.EndTime != payAsYouGoEndTime {
		t.Errorf("CreateTime %d EndTime %d, want %d and %d", g.CreateTime, g.EndTime, want, int64(payAsYouGoEndTime))
	}
	if len(g.Tags.Tag) != 1 || g.Tags.Tag[0].Key != "team" || g.Tags.Tag[0].Value != "net" {
		t.Errorf("tags %+v", g.Tags.Tag)
	}
	if len(g.EniInstanceIds.EniInstanceId) != 2 {
		t.Errorf("want an ENI per vSwitch, got %v", g.EniInstanceIds.EniInstanceId)
	}
	if got := sim.Gateways(); len(got) != 1 || got[0].ID != created.VpnGatewayId || got[0].Status != StatusActive || got[0].OrderID != created.OrderId {
		t.Errorf("admin view %+v", got)
	}
}

func TestCreateWithoutNameDefaultsToTheID(t *testing.T) {
	sim := startSim(t)
	resp := mustCreate(t, sim.client(t), sim.createRequest())
	if resp.Name != resp.VpnGatewayId {
		t.Fatalf("Name %q, want the gateway ID %q", resp.Name, resp.VpnGatewayId)
	}
}

func TestCreateIsIdempotentPerClientToken(t *testing.T) {
	sim := startSim(t)
	c := sim.client(t)

	r1 := sim.createRequest()
	r1.ClientToken = "vpngw-0123456789abcdef"
	first := mustCreate(t, c, r1)

	r2 := sim.createRequest()
	r2.ClientToken = r1.ClientToken
	second := mustCreate(t, c, r2)
	if second.VpnGatewayId != first.VpnGatewayId || second.OrderId != first.OrderId || second.Name != first.Name {
		t.Fatalf("retry answered %+v, first call %+v", second, first)
	}
	if second.RequestId == first.RequestId {
		t.Error("a retry is a new request and must get a new RequestId")
	}
	if n := len(sim.Gateways()); n != 1 {
		t.Fatalf("want 1 gateway after a retry, got %d", n)
	}

	r3 := sim.createRequest()
	r3.ClientToken = r1.ClientToken
	r3.Bandwidth = requests.NewInteger(10)
	_, err := c.CreateVpnGateway(r3)
	wantServerError(t, err, "IdempotentParameterMismatch", 400)

	r4 := sim.createRequest()
	r4.ClientToken = "vpngw-another-token"
	if other := mustCreate(t, c, r4); other.VpnGatewayId == first.VpnGatewayId {
		t.Fatal("a new token must create a new gateway")
	}
	if n := len(sim.Gateways()); n != 2 {
		t.Fatalf("want 2 gateways, got %d", n)
	}
}

func TestConcurrentCreatesWithOneTokenMakeOneGateway(t *testing.T) {
	sim := startSim(t)
	const callers = 50
	ids := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		// A client per caller: concurrent redeliveries run in separate
		// invocations, and the SDK's Client is not safe to share (its
		// per-call timeout handling writes client fields without a lock).
		c := sim.client(t)
		wg.Go(func() {
			r := sim.createRequest()
			r.ClientToken = "same-token-for-all"
			resp, err := c.CreateVpnGateway(r)
			errs[i] = err
			if err == nil {
				ids[i] = resp.VpnGatewayId
			}
		})
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("caller %d got %s, caller 0 got %s", i, ids[i], ids[0])
		}
	}
	if n := len(sim.Gateways()); n != 1 {
		t.Fatalf("want exactly 1 gateway, got %d", n)
	}
	if n := sim.Calls(actionCreate); n != callers {
		t.Fatalf("Calls(CreateVpnGateway) = %d, want %d", n, callers)
	}
}

func TestCreateErrors(t *testing.T) {
	tags := func(n int) *[]vpc.CreateVpnGatewayTags {
		out := make([]vpc.CreateVpnGatewayTags, n)
		for i := range out {
			out[i] = vpc.CreateVpnGatewayTags{Key: fmt.Sprintf("k%d", i), Value: "v"}
		}
		return &out
	}
	cases := []struct {
		name string
		// noClientRegion leaves the client's region empty: the SDK sends the
		// client region as RegionId when the request names none.
		noClientRegion bool
		opts           []Option
		edit           func(*vpc.CreateVpnGatewayRequest)
		code           string
		status         int
	}{
		{name: "missing region", noClientRegion: true, edit: func(r *vpc.CreateVpnGatewayRequest) { r.RegionId = "" }, code: "MissingRegionId", status: 400},
		{name: "unknown region", edit: func(r *vpc.CreateVpnGatewayRequest) { r.RegionId = "cn-atlantis" }, code: "InvalidRegionId.NotFound", status: 404},
		{name: "missing VPC", edit: func(r *vpc.CreateVpnGatewayRequest) { r.VpcId = "" }, code: "MissingVpcId", status: 400},
		{name: "missing bandwidth", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Bandwidth = "" }, code: "MissingBandwidth", status: 400},
		{name: "bandwidth not a number", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Bandwidth = "fast" }, code: "InvalidParameter", status: 400},
		{name: "bandwidth not offered", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Bandwidth = "7" }, code: "InvalidParameter", status: 400},
		{name: "bandwidth 5 on the international site", opts: []Option{WithSite(SiteInternational)}, code: "InvalidParameter", status: 400},
		{name: "unknown VPC", edit: func(r *vpc.CreateVpnGatewayRequest) { r.VpcId = "vpc-bp1doesnotexist000" }, code: "InvalidVpcId.NotFound", status: 404},
		{name: "VPC of another region", edit: func(r *vpc.CreateVpnGatewayRequest) { r.VpcId = "vpc-uf6vpngwdemo0000001" }, code: "InvalidVpcId.NotFound", status: 404},
		{name: "unknown vSwitch", edit: func(r *vpc.CreateVpnGatewayRequest) { r.VSwitchId = "vsw-bp1doesnotexist000" }, code: "InvalidVSwitchId.NotFound", status: 400},
		{name: "vSwitch of another VPC", edit: func(r *vpc.CreateVpnGatewayRequest) { r.VSwitchId = "vsw-bp1vpngwdemo0000004" }, code: "InvalidVSwitchId.NotFound", status: 400},
		{name: "dual-tunnel region without second vSwitch", edit: func(r *vpc.CreateVpnGatewayRequest) { r.DisasterRecoveryVSwitchId = "" }, code: "InvalidVSwitchId.NotFound", status: 400},
		{name: "dual-tunnel region without vSwitches", edit: func(r *vpc.CreateVpnGatewayRequest) { r.VSwitchId, r.DisasterRecoveryVSwitchId = "", "" }, code: "InvalidVSwitchId.NotFound", status: 400},
		{name: "same vSwitch twice", edit: func(r *vpc.CreateVpnGatewayRequest) { r.DisasterRecoveryVSwitchId = demoVSw1 }, code: "InvalidParameter", status: 400},
		{
			name: "vSwitches in one zone",
			opts: []Option{WithVSwitches(VSwitch{ID: "vsw-bp1samezone0000001", RegionID: demoRegion, VPCID: demoVPC, ZoneID: "cn-hangzhou-h"})},
			edit: func(r *vpc.CreateVpnGatewayRequest) { r.DisasterRecoveryVSwitchId = "vsw-bp1samezone0000001" },
			code: "InvalidParameter", status: 400,
		},
		{
			name: "second vSwitch where dual tunnels are not offered",
			edit: func(r *vpc.CreateVpnGatewayRequest) {
				r.RegionId, r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "me-central-1", "vpc-l4vvpngwdemo0000001", "vsw-l4vvpngwdemo0000001", "vsw-l4vvpngwdemo0000002"
			},
			code: "InvalidParameter", status: 400,
		},
		{name: "unknown network type", edit: func(r *vpc.CreateVpnGatewayRequest) { r.NetworkType = "internal" }, code: "InvalidParameter", status: 400},
		{
			name: "SSL on a private gateway",
			edit: func(r *vpc.CreateVpnGatewayRequest) {
				r.NetworkType, r.EnableSsl, r.Bandwidth = "private", requests.NewBoolean(true), requests.NewInteger(200)
			},
			code: "OperationFailed.SslNotSupport", status: 400,
		},
		{name: "private gateway at 5 Mbit/s", edit: func(r *vpc.CreateVpnGatewayRequest) { r.NetworkType = "private" }, code: "InvalidParameter", status: 400},
		{name: "SSL connections not offered", edit: func(r *vpc.CreateVpnGatewayRequest) { r.SslConnections = requests.NewInteger(7) }, code: "InvalidParameter", status: 400},
		{name: "unknown VPN type", edit: func(r *vpc.CreateVpnGatewayRequest) { r.VpnType = "Turbo" }, code: "InvalidParameter", status: 400},
		{name: "EnableIpsec not a boolean", edit: func(r *vpc.CreateVpnGatewayRequest) { r.EnableIpsec = "yes" }, code: "InvalidParameter", status: 400},
		{name: "unknown charge type", edit: func(r *vpc.CreateVpnGatewayRequest) { r.InstanceChargeType = "MONTHLY" }, code: "InvalidParameter", status: 400},
		{
			name: "period not offered",
			edit: func(r *vpc.CreateVpnGatewayRequest) {
				r.InstanceChargeType, r.Period = "PREPAY", requests.NewInteger(10)
			},
			code: "InvalidParameter", status: 400,
		},
		{name: "name too short", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "a" }, code: "InvalidName", status: 400},
		{name: "name starting with a digit", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "1gateway" }, code: "InvalidName", status: 400},
		{name: "name that is a URL", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "http://gw" }, code: "InvalidName", status: 400},
		{name: "name with a space", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "my gateway" }, code: "InvalidName", status: 400},
		{name: "name too long", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "g" + strings.Repeat("w", 100) }, code: "InvalidName", status: 400},
		{name: "21 tags", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Tags = tags(21) }, code: "SizeLimitExceeded.TagNum", status: 400},
		{
			name: "reserved tag key",
			edit: func(r *vpc.CreateVpnGatewayRequest) {
				r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "aliyun-owner", Value: "x"}}
			},
			code: "InvalidParameter.TagKey", status: 400,
		},
		{
			name: "tag value without key",
			edit: func(r *vpc.CreateVpnGatewayRequest) { r.Tags = &[]vpc.CreateVpnGatewayTags{{Value: "x"}} },
			code: "InvalidParameter.TagKey", status: 400,
		},
		{
			name: "tag key of 65 characters",
			edit: func(r *vpc.CreateVpnGatewayRequest) {
				r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: strings.Repeat("k", 65), Value: "x"}}
			},
			code: "InvalidParameter.TagKey", status: 400,
		},
		{
			name: "tag value of 129 characters",
			edit: func(r *vpc.CreateVpnGatewayRequest) {
				r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "k", Value: strings.Repeat("v", 129)}}
			},
			code: "InvalidParameter.TagValue", status: 400,
		},
		{
			name: "tag value with a URL",
			edit: func(r *vpc.CreateVpnGatewayRequest) {
				r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "k", Value: "see https://example.org"}}
			},
			code: "InvalidParameter.TagValue", status: 400,
		},
		{
			name: "tag key twice",
			edit: func(r *vpc.CreateVpnGatewayRequest) {
				r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}
			},
			code: "Duplicated.TagKey", status: 400,
		},
		{name: "client token too long", edit: func(r *vpc.CreateVpnGatewayRequest) { r.ClientToken = strings.Repeat("t", 65) }, code: "InvalidParameter", status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, tc.opts...)
			region := demoRegion
			if tc.noClientRegion {
				region = ""
			}
			c := sim.clientWith(t, region, DefaultAccessKeyID, DefaultAccessKeySecret)
			r := sim.createRequest()
			if tc.edit != nil {
				tc.edit(r)
			}
			_, err := c.CreateVpnGateway(r)
			wantServerError(t, err, tc.code, tc.status)
			if n := len(sim.Gateways()); n != 0 {
				t.Fatalf("a refused call created %d gateways", n)
			}
		})
	}
}

func TestCreateAcceptsValidVariants(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
		edit func(*vpc.CreateVpnGatewayRequest)
	}{
		{name: "private gateway at 200 Mbit/s", edit: func(r *vpc.CreateVpnGatewayRequest) {
			r.NetworkType, r.Bandwidth = "private", requests.NewInteger(200)
		}},
		{name: "SSL with 50 connections", edit: func(r *vpc.CreateVpnGatewayRequest) {
			r.EnableSsl, r.SslConnections = requests.NewBoolean(true), requests.NewInteger(50)
		}},
		{name: "subscription for a year", edit: func(r *vpc.CreateVpnGatewayRequest) {
			r.InstanceChargeType, r.Period, r.AutoPay = "PREPAY", requests.NewInteger(12), requests.NewBoolean(true)
		}},
		{name: "international site at 10 Mbit/s", opts: []Option{WithSite(SiteInternational)}, edit: func(r *vpc.CreateVpnGatewayRequest) {
			r.Bandwidth = requests.NewInteger(10)
		}},
		{name: "single-tunnel region with one vSwitch", edit: func(r *vpc.CreateVpnGatewayRequest) {
			r.RegionId, r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "me-central-1", "vpc-l4vvpngwdemo0000001", "vsw-l4vvpngwdemo0000001", ""
		}},
		{name: "single-tunnel region without vSwitch", edit: func(r *vpc.CreateVpnGatewayRequest) {
			r.RegionId, r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "me-central-1", "vpc-l4vvpngwdemo0000001", "", ""
		}},
		{name: "Chinese name", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "杭州网关-1" }},
		{name: "20 tags", edit: func(r *vpc.CreateVpnGatewayRequest) {
			ts := make([]vpc.CreateVpnGatewayTags, 20)
			for i := range ts {
				ts[i] = vpc.CreateVpnGatewayTags{Key: fmt.Sprintf("k%02d", i), Value: ""}
			}
			r.Tags = &ts
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, tc.opts...)
			r := sim.createRequest()
			tc.edit(r)
			resp := mustCreate(t, sim.client(t), r)
			g, err := sim.Gateway(resp.VpnGatewayId)
			if err != nil {
				t.Fatal(err)
			}
			if g.RegionID != r.RegionId {
				t.Fatalf("gateway in %s, asked for %s", g.RegionID, r.RegionId)
			}
		})
	}
}

func TestCreateSubscriptionEndsAfterThePeriod(t *testing.T) {
	clock := testclock.New(time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC))
	sim := startSim(t, WithClock(clock.Now))
	r := sim.createRequest()
	r.InstanceChargeType, r.Period = "PREPAY", requests.NewInteger(3)
	resp := mustCreate(t, sim.client(t), r)
	g, err := sim.Gateway(resp.VpnGatewayId)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().AddDate(0, 3, 0); !g.EndTime.Equal(want) || g.ChargeType != "PREPAY" {
		t.Fatalf("EndTime %v ChargeType %s, want %v PREPAY", g.EndTime, g.ChargeType, want)
	}
}

func TestCreateQuotaIsPerRegion(t *testing.T) {
	sim := startSim(t, WithGatewayQuota(2))
	c := sim.client(t)
	mustCreate(t, c, sim.createRequest())
	mustCreate(t, c, sim.createRequest())
	_, err := c.CreateVpnGateway(sim.createRequest())
	wantServerError(t, err, "Resource.QuotaFull", 400)

	// Another region has its own quota.
	r := sim.createRequest()
	r.RegionId, r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "cn-shanghai", "vpc-uf6vpngwdemo0000001", "vsw-uf6vpngwdemo0000001", "vsw-uf6vpngwdemo0000002"
	mustCreate(t, c, r)

	// Freeing a slot makes room again.
	if err := sim.Delete(sim.Gateways()[0].ID); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c, sim.createRequest())
}

func TestRetryAfterQuotaFillsStillAnswersTheGateway(t *testing.T) {
	sim := startSim(t, WithGatewayQuota(1))
	c := sim.client(t)
	r := sim.createRequest()
	r.ClientToken = "token-1"
	first := mustCreate(t, c, r)
	again := sim.createRequest()
	again.ClientToken = "token-1"
	if got := mustCreate(t, c, again); got.VpnGatewayId != first.VpnGatewayId {
		t.Fatalf("retry got %s, want %s", got.VpnGatewayId, first.VpnGatewayId)
	}
}

func TestCommonRequestCreateAndDescribe(t *testing.T) {
	sim := startSim(t, WithProvisioningDelay(0))
	c := sim.coreClient(t)

	r := sim.commonRequest(actionCreate)
	r.QueryParams["RegionId"] = demoRegion
	r.QueryParams["VpcId"] = demoVPC
	r.QueryParams["VSwitchId"] = demoVSw1
	r.QueryParams["DisasterRecoveryVSwitchId"] = demoVSw2
	r.QueryParams["Bandwidth"] = "10"
	r.FormParams["Name"] = "from-the-form"
	r.FormParams["Tag.1.Key"] = "env"
	r.FormParams["Tag.1.Value"] = "local"
	resp, err := c.ProcessCommonRequest(r)
	if err != nil {
		t.Fatalf("CreateVpnGateway: %v", err)
	}
	created := vpc.CreateCreateVpnGatewayResponse()
	if err := jsonParse(resp.GetHttpContentBytes(), created); err != nil {
		t.Fatal(err)
	}
	g, err := sim.Gateway(created.VpnGatewayId)
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "from-the-form" || g.Bandwidth != 10 || len(g.Tags) != 1 || g.Tags[0] != (Tag{Key: "env", Value: "local"}) {
		t.Fatalf("form parameters not applied: %+v", g)
	}
}
