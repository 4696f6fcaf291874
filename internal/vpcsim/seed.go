package vpcsim

import (
	"fmt"
	"slices"
	"strings"
)

// APIVersion is the only VPC API version the emulator serves.
const APIVersion = "2016-04-28"

// The default credential pair of the local stack. It is a demonstration
// value, valid only against this emulator, and is published here so that
// every local tool can use it without configuration.
const (
	DefaultAccessKeyID     = "LTAI5tVpngwLocalDemoKey"
	DefaultAccessKeySecret = "vpngw-local-demo-secret"
)

// DefaultResourceGroupID is the resource group a gateway joins when the
// request names none, as the account's default group does on the real service.
const DefaultResourceGroupID = "rg-acfmvpngwdefault01"

// DualTunnelRegions lists the regions where new VPN gateways are dual-tunnel
// only, so CreateVpnGateway needs both VSwitchId and DisasterRecoveryVSwitchId.
//
// Source: Alibaba Cloud VPN Gateway documentation, "[Upgrade notice] IPsec-VPN
// connections support the dual-tunnel mode" (Limits: the listed regions and
// zones; "By default, after you purchase a VPN gateway, you can create only
// dual-tunnel IPsec-VPN connections"), completed with the "Dual-tunnel IPsec-VPN
// connection" column of "Regions that support IPsec-VPN features", which adds
// Mexico and UAE (Dubai) and marks SAU (Riyadh - Partner Region, me-central-1)
// as not supported. The request validator uses this same list.
var DualTunnelRegions = []string{
	"cn-hangzhou",    // China (Hangzhou)
	"cn-shanghai",    // China (Shanghai)
	"cn-nanjing",     // China (Nanjing - Local Region)
	"cn-shenzhen",    // China (Shenzhen)
	"cn-heyuan",      // China (Heyuan)
	"cn-guangzhou",   // China (Guangzhou)
	"cn-qingdao",     // China (Qingdao)
	"cn-beijing",     // China (Beijing)
	"cn-zhangjiakou", // China (Zhangjiakou)
	"cn-huhehaote",   // China (Hohhot)
	"cn-wulanchabu",  // China (Ulanqab)
	"cn-chengdu",     // China (Chengdu)
	"cn-hongkong",    // China (Hong Kong)
	"ap-southeast-1", // Singapore
	"ap-southeast-7", // Thailand (Bangkok)
	"ap-northeast-1", // Japan (Tokyo)
	"ap-northeast-2", // South Korea (Seoul)
	"ap-southeast-6", // Philippines (Manila)
	"ap-southeast-5", // Indonesia (Jakarta)
	"ap-southeast-3", // Malaysia (Kuala Lumpur)
	"eu-west-1",      // UK (London)
	"eu-central-1",   // Germany (Frankfurt)
	"us-west-1",      // US (Silicon Valley)
	"us-east-1",      // US (Virginia)
	"na-south-1",     // Mexico
	"me-east-1",      // UAE (Dubai)
}

// SingleZoneDualTunnelRegions are the dual-tunnel regions where only one zone
// supports the mode (Zone A in the same documentation). There the two
// vSwitches cannot be in different zones, and the documentation allows the
// same vSwitch for both; everywhere else they must differ.
var SingleZoneDualTunnelRegions = []string{
	"cn-nanjing",
	"ap-southeast-7",
	"ap-northeast-2",
	"ap-southeast-6",
}

// IsDualTunnelRegion reports whether region is in DualTunnelRegions.
func IsDualTunnelRegion(region string) bool {
	return slices.Contains(DualTunnelRegions, region)
}

// VPC is a virtual private cloud the emulator knows about.
type VPC struct {
	ID       string `json:"VpcId"`
	RegionID string `json:"RegionId"`
}

// VSwitch is a vSwitch of a VPC, in one zone.
type VSwitch struct {
	ID       string `json:"VSwitchId"`
	RegionID string `json:"RegionId"`
	VPCID    string `json:"VpcId"`
	ZoneID   string `json:"ZoneId"`
}

// Seed is the world the emulator starts with: the regions it serves and the
// VPCs and vSwitches that exist in them. VPN gateways are created through the
// API; VPCs and vSwitches only come from the seed.
//
// Its JSON form is the seed document of VPNGW_EMULATOR_SEED and of vpcsim's
// -vpc-seed flag (ParseSeed, LoadSeed; docs/EMULATOR.md).
type Seed struct {
	Regions   []string  `json:"Regions,omitempty"`
	VPCs      []VPC     `json:"VPCs,omitempty"`
	VSwitches []VSwitch `json:"VSwitches,omitempty"`
}

// Validate checks that every VPC is in a seeded region and every vSwitch in a
// seeded VPC of the same region, and that no ID is used twice.
func (s Seed) Validate() error {
	regions := map[string]bool{}
	for _, r := range s.Regions {
		if r == "" {
			return fmt.Errorf("seed: empty region ID")
		}
		regions[r] = true
	}
	vpcs := map[string]VPC{}
	for _, v := range s.VPCs {
		if !regions[v.RegionID] {
			return fmt.Errorf("seed: VPC %q is in unknown region %q", v.ID, v.RegionID)
		}
		if _, dup := vpcs[v.ID]; dup || v.ID == "" {
			return fmt.Errorf("seed: VPC ID %q is empty or used twice", v.ID)
		}
		vpcs[v.ID] = v
	}
	seen := map[string]bool{}
	for _, sw := range s.VSwitches {
		vpc, ok := vpcs[sw.VPCID]
		if !ok || vpc.RegionID != sw.RegionID {
			return fmt.Errorf("seed: vSwitch %q names VPC %q, which is not seeded in region %q", sw.ID, sw.VPCID, sw.RegionID)
		}
		if seen[sw.ID] || sw.ID == "" || sw.ZoneID == "" {
			return fmt.Errorf("seed: vSwitch %q has an empty ID or zone, or is used twice", sw.ID)
		}
		seen[sw.ID] = true
	}
	return nil
}

// regionPrefix gives the three characters real resource IDs carry after the
// type prefix in each region (vpc-bp1…, vsw-uf6…, vpn-2ze…), so that emulated
// IDs look like the ones clients meet in production.
var regionPrefix = map[string]string{
	"cn-hangzhou":    "bp1",
	"cn-shanghai":    "uf6",
	"cn-beijing":     "2ze",
	"cn-shenzhen":    "wz9",
	"cn-qingdao":     "m5e",
	"cn-zhangjiakou": "8vb",
	"cn-huhehaote":   "hp3",
	"cn-chengdu":     "2vc",
	"cn-hongkong":    "j6c",
	"ap-southeast-1": "t4n",
	"ap-southeast-3": "8ps",
	"ap-southeast-5": "k1a",
	"ap-northeast-1": "6we",
	"us-west-1":      "rj9",
	"us-east-1":      "0xi",
	"eu-central-1":   "gw8",
	"eu-west-1":      "d7o",
	"me-central-1":   "l4v",
}

// defaultZones are the zones seeded per region, taken from the dual-tunnel
// zone list so that the seeded vSwitch pairs are valid there.
var defaultZones = []struct {
	region string
	zones  []string
}{
	{"cn-hangzhou", []string{"cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"}},
	{"cn-shanghai", []string{"cn-shanghai-l", "cn-shanghai-m", "cn-shanghai-n"}},
	{"cn-beijing", []string{"cn-beijing-f", "cn-beijing-g", "cn-beijing-h"}},
	{"cn-shenzhen", []string{"cn-shenzhen-d", "cn-shenzhen-e", "cn-shenzhen-f"}},
	{"ap-southeast-1", []string{"ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"}},
	{"us-west-1", []string{"us-west-1a", "us-west-1b"}},
	{"eu-central-1", []string{"eu-central-1a", "eu-central-1b", "eu-central-1c"}},
	// SAU (Riyadh - Partner Region) is not dual-tunnel: it gives the seed a
	// region where a single vSwitch, or none, is enough.
	{"me-central-1", []string{"me-central-1a"}},
}

// DefaultSeed returns the seed of the local stack. Every region gets two VPCs,
// vpc-<p>vpngwdemo0000001 with vSwitches …0000001 to …0000003 and
// vpc-<p>vpngwdemo0000002 with vSwitches …0000004 and …0000005, spread over the
// region's zones, where <p> is the region's ID prefix (bp1 in cn-hangzhou).
// In cn-hangzhou that gives the sample request's VpcId vpc-bp1vpngwdemo0000001
// with VSwitchId vsw-bp1vpngwdemo0000001 (zone cn-hangzhou-h) and
// DisasterRecoveryVSwitchId vsw-bp1vpngwdemo0000002 (zone cn-hangzhou-i).
//
// Then come SampleVPCs: the VPCs (each with two vSwitches in different
// zones) that the samples under events/testdata and the rules of
// deploy/policy.sample.yaml name, so that every one of them can be tried in
// `make run`.
func DefaultSeed() Seed {
	var s Seed
	for _, rz := range defaultZones {
		p := regionPrefix[rz.region]
		s.Regions = append(s.Regions, rz.region)
		zone := func(i int) string { return rz.zones[i%len(rz.zones)] }
		vpc1 := "vpc-" + p + "vpngwdemo0000001"
		vpc2 := "vpc-" + p + "vpngwdemo0000002"
		s.VPCs = append(s.VPCs, VPC{ID: vpc1, RegionID: rz.region}, VPC{ID: vpc2, RegionID: rz.region})
		for i := 1; i <= 5; i++ {
			vpc := vpc1
			if i > 3 {
				vpc = vpc2
			}
			s.VSwitches = append(s.VSwitches, VSwitch{
				ID:       fmt.Sprintf("vsw-%svpngwdemo%07d", p, i),
				RegionID: rz.region,
				VPCID:    vpc,
				ZoneID:   zone((i - 1) % 3),
			})
		}
	}
	for _, v := range SampleVPCs {
		zones := zonesOf(v.RegionID)
		s.VPCs = append(s.VPCs, v)
		for i, sw := range []string{"1", "2"} {
			s.VSwitches = append(s.VSwitches, VSwitch{
				ID:       "vsw-" + strings.TrimSuffix(strings.TrimPrefix(v.ID, "vpc-"), "1") + sw,
				RegionID: v.RegionID,
				VPCID:    v.ID,
				ZoneID:   zones[i%len(zones)],
			})
		}
	}
	return s
}

// SampleVPCs are the VPCs of the default seed beyond the demo ones: those
// the samples and the sample policy's rules name. Each has two vSwitches,
// its ID with "vsw-" for "vpc-" and the last digit 1 and 2, in the region's
// first two zones (vpc-uf6vpngwfull0000001: vsw-uf6vpngwfull0000001 in
// cn-shanghai-l, vsw-uf6vpngwfull0000002 in cn-shanghai-m).
var SampleVPCs = []VPC{
	// events/testdata/io.vpngw.gateway.requested.json
	{ID: "vpc-uf6vpngwfull0000001", RegionID: "cn-shanghai"},
	// events/testdata/io.vpngw.gateway.batch.requested.json, items 1 and 2
	{ID: "vpc-uf6vpngwbatch000001", RegionID: "cn-shanghai"},
	{ID: "vpc-2zevpngwbatch000001", RegionID: "cn-beijing"},
	// events/testdata/requested-base64.json
	{ID: "vpc-2zevpngwpriv0000001", RegionID: "cn-beijing"},
	// events/testdata/requested-eventbridge.json
	{ID: "vpc-wz9vpngwebus0000001", RegionID: "cn-shenzhen"},
	// deploy/policy.sample.yaml: ticketing (vpc-bp1tkt*, regex vpc-uf6tkt…)
	{ID: "vpc-bp1tktvpngw000001", RegionID: "cn-hangzhou"},
	{ID: "vpc-uf6tktvpngw000001", RegionID: "cn-shanghai"},
	// chatops (vpc-bp1dev*)
	{ID: "vpc-bp1devvpngw000001", RegionID: "cn-hangzhou"},
	// netops-trial (vpc-bp1net*)
	{ID: "vpc-bp1netvpngw000001", RegionID: "cn-hangzhou"},
	// finance-subscriptions (vpc-bp1fin*)
	{ID: "vpc-bp1finvpngw000001", RegionID: "cn-hangzhou"},
}

// zonesOf is the default zones of region (nil when it has none).
func zonesOf(region string) []string {
	for _, rz := range defaultZones {
		if rz.region == region {
			return rz.zones
		}
	}
	return nil
}
