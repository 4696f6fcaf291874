package request

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
)

func ptrTo[T any](v T) *T { return &v }

// base is a valid request in a dual-tunnel region; each invalid case breaks
// exactly one rule of it.
func base() events.GatewayRequest {
	return events.GatewayRequest{
		RegionId:                  "cn-hangzhou",
		VpcId:                     "vpc-bp1vpngwtest0000001",
		Bandwidth:                 ptrTo(10),
		VSwitchId:                 "vsw-bp1vpngwtest0000001",
		DisasterRecoveryVSwitchId: "vsw-bp1vpngwtest0000002",
	}
}

func TestValidateRejectsEachRule(t *testing.T) {
	tags := func(n int) []events.Tag {
		out := make([]events.Tag, n)
		for i := range out {
			out[i] = events.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
		}
		return out
	}
	cases := []struct {
		name    string
		mutate  func(*events.GatewayRequest)
		field   string
		value   string // the Value the error must echo ("" = not checked)
		allowed string // a part of Allowed that must be there
		message string // a part of Message that must be there ("" = not checked)
	}{
		{"RegionId missing", func(r *events.GatewayRequest) { r.RegionId = "" }, "RegionId", "", "cn-hangzhou", "required"},
		{"RegionId not a region ID", func(r *events.GatewayRequest) { r.RegionId = "China_Hangzhou" }, "RegionId", "China_Hangzhou", "lower-case", ""},
		{"VpcId missing", func(r *events.GatewayRequest) { r.VpcId = "" }, "VpcId", "", "vpc-", "required"},
		{"VpcId with a vSwitch prefix", func(r *events.GatewayRequest) { r.VpcId = "vsw-bp1abc" }, "VpcId", "vsw-bp1abc", `"vpc-"`, "VPC ID"},
		{"VpcId upper-case", func(r *events.GatewayRequest) { r.VpcId = "VPC-BP1ABC" }, "VpcId", "VPC-BP1ABC", "lower-case", ""},
		{"VpcId 65 characters", func(r *events.GatewayRequest) { r.VpcId = "vpc-" + strings.Repeat("a", 61) }, "VpcId", "", "at most 64 characters", "65 characters long"},
		{"VSwitchId 65 characters", func(r *events.GatewayRequest) { r.VSwitchId = "vsw-" + strings.Repeat("a", 61) }, "VSwitchId", "", "at most 64 characters", "65 characters long"},
		{"DisasterRecoveryVSwitchId 300 KiB", func(r *events.GatewayRequest) { r.DisasterRecoveryVSwitchId = "vsw-" + strings.Repeat("a", 300<<10) }, "DisasterRecoveryVSwitchId", "", "at most 64 characters", "307204 characters long"},
		{"ResourceGroupId 65 characters", func(r *events.GatewayRequest) { r.ResourceGroupId = "rg-" + strings.Repeat("a", 62) }, "ResourceGroupId", "", "at most 64 characters", "65 characters long"},
		{"Bandwidth missing", func(r *events.GatewayRequest) { r.Bandwidth = nil }, "Bandwidth", "", "5, 10, 20", "required"},
		{"Bandwidth not offered", func(r *events.GatewayRequest) { r.Bandwidth = ptrTo(7) }, "Bandwidth", "7", "5, 10, 20, 50, 100, 200, 500, 1000", ""},
		{"Bandwidth zero", func(r *events.GatewayRequest) { r.Bandwidth = ptrTo(0) }, "Bandwidth", "0", "5, 10, 20, 50, 100, 200, 500, 1000", ""},
		{"Bandwidth public-only value on a private gateway", func(r *events.GatewayRequest) {
			r.NetworkType = NetworkTypePrivate
			r.Bandwidth = ptrTo(10)
		}, "Bandwidth", "10", "200, 1000 for a private gateway", "private"},
		{"Name one character", func(r *events.GatewayRequest) { r.Name = "a" }, "Name", "a", "2 to 100 characters", "1 characters long"},
		{"Name 101 characters", func(r *events.GatewayRequest) { r.Name = "a" + strings.Repeat("b", 100) }, "Name", "", "2 to 100 characters", "101 characters long"},
		{"Name starts with a digit", func(r *events.GatewayRequest) { r.Name = "1gateway" }, "Name", "1gateway", "a letter (or Chinese character) first", "start with a letter"},
		{"Name starts with http://", func(r *events.GatewayRequest) { r.Name = "http://gw" }, "Name", "http://gw", "not starting with http:// or https://", "http://"},
		{"Name starts with https://", func(r *events.GatewayRequest) { r.Name = "https://gw" }, "Name", "https://gw", "not starting with http:// or https://", "https://"},
		{"Name holds a space", func(r *events.GatewayRequest) { r.Name = "my gateway" }, "Name", "my gateway", "letters, digits, '_', '-', '.'", "' '"},
		{"Name holds a slash", func(r *events.GatewayRequest) { r.Name = "gw/1" }, "Name", "gw/1", "letters, digits", "'/'"},
		{"InstanceChargeType in Terraform's spelling", func(r *events.GatewayRequest) { r.InstanceChargeType = "PostPaid" }, "InstanceChargeType", "PostPaid", "POSTPAY, PREPAY", ""},
		{"InstanceChargeType lower-case", func(r *events.GatewayRequest) { r.InstanceChargeType = "postpay" }, "InstanceChargeType", "postpay", "POSTPAY, PREPAY", "did you mean POSTPAY"},
		{"Period not a subscription duration", func(r *events.GatewayRequest) {
			r.InstanceChargeType = ChargeTypePrepay
			r.Period = ptrTo(10)
		}, "Period", "10", "1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36", ""},
		{"Period with pay-as-you-go", func(r *events.GatewayRequest) {
			r.InstanceChargeType = ChargeTypePostpay
			r.Period = ptrTo(1)
		}, "Period", "1", "only with InstanceChargeType PREPAY", "POSTPAY"},
		{"Period without a billing method", func(r *events.GatewayRequest) { r.Period = ptrTo(12) }, "Period", "12", "only with InstanceChargeType PREPAY", ""},
		{"subscription without Period", func(r *events.GatewayRequest) { r.InstanceChargeType = ChargeTypePrepay }, "Period", "", "1, 2, 3", "required with InstanceChargeType PREPAY"},
		{"SslConnections not offered", func(r *events.GatewayRequest) {
			r.EnableSsl = ptrTo(true)
			r.SslConnections = ptrTo(15)
		}, "SslConnections", "15", "5, 10, 20, 50, 100, 200, 500, 1000", ""},
		{"SslConnections without EnableSsl", func(r *events.GatewayRequest) { r.SslConnections = ptrTo(5) }, "SslConnections", "5", "only with EnableSsl true", ""},
		{"SslConnections with EnableSsl false", func(r *events.GatewayRequest) {
			r.EnableSsl = ptrTo(false)
			r.SslConnections = ptrTo(50)
		}, "SslConnections", "50", "only with EnableSsl true", ""},
		{"VpnType unknown", func(r *events.GatewayRequest) { r.VpnType = "Fast" }, "VpnType", "Fast", "Normal, NationalStandard", ""},
		{"VpnType lower-case", func(r *events.GatewayRequest) { r.VpnType = "normal" }, "VpnType", "normal", "Normal, NationalStandard", "did you mean Normal"},
		{"NetworkType unknown", func(r *events.GatewayRequest) { r.NetworkType = "internet" }, "NetworkType", "internet", "public, private", ""},
		{"EnableSsl on a private gateway", func(r *events.GatewayRequest) {
			r.NetworkType = NetworkTypePrivate
			r.Bandwidth = ptrTo(200)
			r.EnableSsl = ptrTo(true)
		}, "EnableSsl", "true", "false for a private gateway", "OperationFailed.SslNotSupport"},
		{"ClientToken not ASCII", func(r *events.GatewayRequest) { r.ClientToken = "token-é" }, "ClientToken", "token-é", "ASCII characters only (no control characters), at most 64", "'é' at byte 6"},
		{"ClientToken with a NUL", func(r *events.GatewayRequest) { r.ClientToken = "tok\x00en" }, "ClientToken", "tok\x00en", "no control characters", "'\\x00' at byte 3"},
		{"ClientToken with a newline", func(r *events.GatewayRequest) { r.ClientToken = "tok\nen" }, "ClientToken", "tok\nen", "no control characters", "'\\n' at byte 3"},
		{"ClientToken with DEL", func(r *events.GatewayRequest) { r.ClientToken = "tok\x7f" }, "ClientToken", "tok\x7f", "no control characters", "'\\x7f' at byte 3"},
		{"ClientToken in the derived namespace", func(r *events.GatewayRequest) { r.ClientToken = "vpngw-1ce8311f92f35b638e78862f2dd03f6a" }, "ClientToken", "vpngw-1ce8311f92f35b638e78862f2dd03f6a", "not starting with vpngw-", "vpngw derives itself"},
		{"ClientToken in the derived namespace, any case", func(r *events.GatewayRequest) { r.ClientToken = "VPNGW-t-x" }, "ClientToken", "VPNGW-t-x", "not starting with vpngw-", "vpngw derives itself"},
		{"ClientToken 65 characters", func(r *events.GatewayRequest) { r.ClientToken = strings.Repeat("t", 65) }, "ClientToken", "", "at most 64", "65 characters"},
		{"ResourceGroupId without rg- prefix", func(r *events.GatewayRequest) { r.ResourceGroupId = "acfmzs372yg" }, "ResourceGroupId", "acfmzs372yg", `"rg-"`, "resource group ID"},
		{"VSwitchId with a VPC prefix", func(r *events.GatewayRequest) { r.VSwitchId = "vpc-bp1abc" }, "VSwitchId", "vpc-bp1abc", `"vsw-"`, "vSwitch ID"},
		{"DisasterRecoveryVSwitchId malformed", func(r *events.GatewayRequest) { r.DisasterRecoveryVSwitchId = "vsw_bad" }, "DisasterRecoveryVSwitchId", "vsw_bad", `"vsw-"`, ""},
		{"dual-tunnel region without VSwitchId", func(r *events.GatewayRequest) { r.VSwitchId = "" }, "VSwitchId", "", "together with DisasterRecoveryVSwitchId", "cn-hangzhou"},
		{"dual-tunnel region without DisasterRecoveryVSwitchId", func(r *events.GatewayRequest) { r.DisasterRecoveryVSwitchId = "" }, "DisasterRecoveryVSwitchId", "", "different from VSwitchId", "dual-tunnel"},
		{"DisasterRecoveryVSwitchId without VSwitchId outside the dual-tunnel regions", func(r *events.GatewayRequest) {
			r.RegionId = "me-central-1"
			r.VSwitchId = ""
		}, "DisasterRecoveryVSwitchId", "vsw-bp1vpngwtest0000002", "only together with VSwitchId", ""},
		{"DisasterRecoveryVSwitchId equal to VSwitchId", func(r *events.GatewayRequest) { r.DisasterRecoveryVSwitchId = r.VSwitchId }, "DisasterRecoveryVSwitchId", "vsw-bp1vpngwtest0000001", "other than VSwitchId", ""},
		{"DisasterRecoveryVSwitchId equal to VSwitchId outside the dual-tunnel regions", func(r *events.GatewayRequest) {
			r.RegionId = "me-central-1"
			r.DisasterRecoveryVSwitchId = r.VSwitchId
		}, "DisasterRecoveryVSwitchId", "vsw-bp1vpngwtest0000001", "other than VSwitchId", ""},
		{"21 tags", func(r *events.GatewayRequest) { r.Tags = tags(21) }, "Tags", "21", "at most 20 tags", "SizeLimitExceeded.TagNum"},
		{"tag key empty", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "a", Value: "1"}, {Key: "", Value: "2"}} }, "Tags[1].Key", "", "1 to 128 characters", "empty"},
		{"tag key 129 characters", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: strings.Repeat("k", 129)}} }, "Tags[0].Key", "", "1 to 128 characters", "129 characters"},
		{"tag key starting with aliyun", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "aliyun-team", Value: "x"}} }, "Tags[0].Key", "aliyun-team", "not starting with aliyun or acs:", ""},
		{"tag key starting with acs:", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "acs:owner", Value: "x"}} }, "Tags[0].Key", "acs:owner", "not starting with aliyun or acs:", ""},
		{"tag key holding http://", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "see-http://x", Value: "x"}} }, "Tags[0].Key", "see-http://x", "not containing http:// or https://", ""},
		{"tag value 129 characters", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "k", Value: strings.Repeat("v", 129)}} }, "Tags[0].Value", "", "0 to 128 characters", "129 characters"},
		{"tag value holding https://", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "k", Value: "https://wiki/x"}} }, "Tags[0].Value", "https://wiki/x", "not containing http:// or https://", ""},
		{"tag value starting with acs:", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "k", Value: "acs:x"}} }, "Tags[0].Value", "acs:x", "not starting with aliyun or acs:", ""},
		{"tag key starting with Aliyun (any case)", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "Aliyun-team", Value: "x"}} }, "Tags[0].Key", "Aliyun-team", "not starting with aliyun or acs:", ""},
		{"tag key holding HTTP:// (any case)", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "see-HTTP://x", Value: "x"}} }, "Tags[0].Key", "see-HTTP://x", "not containing http:// or https://", ""},
		{"tag value starting with ACS: (any case)", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "k", Value: "ACS:x"}} }, "Tags[0].Value", "ACS:x", "not starting with aliyun or acs:", ""},
		{"tag value holding Https:// (any case)", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "k", Value: "Https://wiki"}} }, "Tags[0].Value", "Https://wiki", "not containing http:// or https://", ""},
		{"tag key holding NUL", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "te\x00am", Value: "x"}} }, "Tags[0].Key", "", "no control characters", "control character U+0000 at byte 2"},
		{"tag value holding a line break", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "k", Value: "a\nb"}} }, "Tags[0].Value", "", "no control characters", "control character U+000A at byte 1"},
		{"tag value holding a C1 control", func(r *events.GatewayRequest) { r.Tags = []events.Tag{{Key: "k", Value: "a\u0085"}} }, "Tags[0].Value", "", "no control characters", "control character U+0085 at byte 1"},
		{"tag keys repeated", func(r *events.GatewayRequest) {
			r.Tags = []events.Tag{{Key: "team", Value: "a"}, {Key: "env", Value: "b"}, {Key: "team", Value: "c"}}
		}, "Tags[2].Key", "team", "not used by another tag", "Forbidden.TagKey.Duplicated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.mutate(&r)
			errs := Validate(r)
			if len(errs) != 1 {
				t.Fatalf("Validate gave %d errors, want exactly 1 on %s:\n%s", len(errs), tc.field, dump(errs))
			}
			fe := errs[0]
			if fe.Field != tc.field {
				t.Errorf("Field = %q, want %q", fe.Field, tc.field)
			}
			if tc.value != "" && fe.Value != tc.value {
				t.Errorf("Value = %q, want %q", fe.Value, tc.value)
			}
			if !strings.Contains(fe.Allowed, tc.allowed) {
				t.Errorf("Allowed = %q, want it to say %q", fe.Allowed, tc.allowed)
			}
			if !strings.Contains(fe.Message, tc.message) {
				t.Errorf("Message = %q, want it to say %q", fe.Message, tc.message)
			}
			if fe.Message == "" {
				t.Error("Message is empty")
			}
		})
	}
}

func TestValidateAcceptsValidRequests(t *testing.T) {
	cases := []struct {
		name string
		r    events.GatewayRequest
	}{
		{"minimal outside the dual-tunnel regions", events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-l4vpngw01", Bandwidth: ptrTo(5)}},
		{"minimal dual-tunnel", base()},
		{"full subscription", events.GatewayRequest{
			RegionId: "cn-shanghai", VpcId: "vpc-uf6abc", Bandwidth: ptrTo(1000), Name: "Branch_Office.vpn-1",
			InstanceChargeType: ChargeTypePrepay, Period: ptrTo(36), AutoPay: ptrTo(true),
			EnableIpsec: ptrTo(true), EnableSsl: ptrTo(true), SslConnections: ptrTo(1000),
			VSwitchId: "vsw-uf6a", DisasterRecoveryVSwitchId: "vsw-uf6b", VpnType: VpnTypeNationalStandard,
			ClientToken: "02fb3da4-order-7", NetworkType: NetworkTypePublic, ResourceGroupId: "rg-acfmzs372yg",
			Tags: []events.Tag{{Key: "team", Value: "net"}, {Key: "empty-value", Value: ""}},
		}},
		{"private", events.GatewayRequest{
			RegionId: "cn-beijing", VpcId: "vpc-2ze1", Bandwidth: ptrTo(200), NetworkType: NetworkTypePrivate,
			EnableSsl: ptrTo(false), VSwitchId: "vsw-2ze1", DisasterRecoveryVSwitchId: "vsw-2ze2",
		}},
		{"pay-as-you-go with AutoPay", events.GatewayRequest{
			RegionId: "ap-southeast-1", VpcId: "vpc-t4n1", Bandwidth: ptrTo(100), InstanceChargeType: ChargeTypePostpay,
			AutoPay: ptrTo(true), VSwitchId: "vsw-t4n1", DisasterRecoveryVSwitchId: "vsw-t4n2",
		}},
		{"single vSwitch outside the dual-tunnel regions", events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-l4a", Bandwidth: ptrTo(10), VSwitchId: "vsw-l4a"}},
		{"Chinese name", events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-l4a", Bandwidth: ptrTo(10), Name: "杭州网关_1"}},
		{"name of 100 characters", events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-l4a", Bandwidth: ptrTo(10), Name: "g" + strings.Repeat("w", 99)}},
		{"20 tags", events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-l4a", Bandwidth: ptrTo(10), Tags: func() []events.Tag {
			out := make([]events.Tag, MaxTags)
			for i := range out {
				out[i] = events.Tag{Key: fmt.Sprintf("key-%d", i), Value: strings.Repeat("v", MaxTagValueLength)}
			}
			return out
		}()}},
		{"ClientToken of 64 characters", events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-l4a", Bandwidth: ptrTo(10), ClientToken: strings.Repeat("t", 64)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if errs := Validate(tc.r); errs != nil {
				t.Fatalf("Validate refused a valid request:\n%s", dump(errs))
			}
			if errs := Validate(Normalize(tc.r)); errs != nil {
				t.Fatalf("Normalize made a valid request invalid:\n%s", dump(errs))
			}
		})
	}
}

func TestValidateReportsEveryViolation(t *testing.T) {
	r := base()
	r.Bandwidth = ptrTo(7)                // not offered
	r.Name = "9lives"                     // starts with a digit
	r.Tags = []events.Tag{{Key: "acs:x"}} // reserved prefix
	r.EnableSsl = ptrTo(true)             // fine on its own...
	r.NetworkType = NetworkTypePrivate    // ...but not on a private gateway
	errs := Validate(r)
	var fields []string
	for _, fe := range errs {
		fields = append(fields, fe.Field)
	}
	want := []string{"Bandwidth", "Name", "EnableSsl", "Tags[0].Key"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields = %v, want %v (in parameter order):\n%s", fields, want, dump(errs))
	}
}

func TestDualTunnelRegions(t *testing.T) {
	for _, region := range DualTunnelRegions {
		if !regionIDFormat.MatchString(region) {
			t.Errorf("%q is not a region ID", region)
		}
		r := events.GatewayRequest{RegionId: region, VpcId: "vpc-a1", Bandwidth: ptrTo(10)}
		errs := Validate(r)
		if len(errs) != 2 || errs[0].Field != "VSwitchId" || errs[1].Field != "DisasterRecoveryVSwitchId" {
			t.Errorf("%s without vSwitches: got\n%s\nwant VSwitchId and DisasterRecoveryVSwitchId required", region, dump(errs))
		}
	}
	if n := len(DualTunnelRegions); n != len(uniq(DualTunnelRegions)) {
		t.Errorf("DualTunnelRegions repeats a region: %v", DualTunnelRegions)
	}
	// Riyadh is the one listed region without dual-tunnel support [DUAL].
	if slices.Contains(DualTunnelRegions, "me-central-1") {
		t.Error("me-central-1 does not support dual-tunnel IPsec-VPN")
	}
}

func TestNormalize(t *testing.T) {
	r := events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-a1", Bandwidth: ptrTo(10), EnableSsl: ptrTo(true), Tags: []events.Tag{{Key: "a"}}}
	n := Normalize(r)
	if n.NetworkType != NetworkTypePublic || n.VpnType != VpnTypeNormal || !*n.EnableIpsec || *n.AutoPay || n.SslConnections == nil || *n.SslConnections != 5 {
		t.Errorf("defaults not written out: %+v", n)
	}
	// A copy: changing it leaves the input alone.
	*n.Bandwidth = 20
	n.Tags[0].Key = "b"
	if *r.Bandwidth != 10 || r.Tags[0].Key != "a" {
		t.Error("Normalize shares memory with its input")
	}
	// Given values stay.
	p := Normalize(events.GatewayRequest{NetworkType: NetworkTypePrivate, EnableSsl: ptrTo(false), VpnType: VpnTypeNationalStandard})
	if p.NetworkType != NetworkTypePrivate || *p.EnableSsl || p.SslConnections != nil || p.VpnType != VpnTypeNationalStandard {
		t.Errorf("given values changed: %+v", p)
	}
}

func dump(errs []events.FieldError) string {
	var b strings.Builder
	for _, fe := range errs {
		fmt.Fprintf(&b, "  %s (value %q, allowed %q): %s\n", fe.Field, fe.Value, fe.Allowed, fe.Message)
	}
	return b.String()
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
