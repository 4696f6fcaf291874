package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/store"
)

// One invalid request per rule the CreateVpnGateway reference states, run
// through the whole pipeline: each is rejected with the field named, and
// the API never hears of any of them. (internal/request holds the full
// table of rules with their sources.)
func TestInvalidRequestsNeverReachTheAPI(t *testing.T) {
	s := newStack(t)
	manyTags := []map[string]string{}
	for i := range 21 {
		manyTags = append(manyTags, map[string]string{"Key": fmt.Sprintf("k%d", i), "Value": "v"})
	}
	cases := []struct {
		name  string
		edit  func(d map[string]any)
		field string
	}{
		{"RegionId missing", func(d map[string]any) { delete(d, "RegionId") }, "RegionId"},
		{"VpcId missing", func(d map[string]any) { delete(d, "VpcId") }, "VpcId"},
		{"Bandwidth missing", func(d map[string]any) { delete(d, "Bandwidth") }, "Bandwidth"},
		{"unknown field", func(d map[string]any) { d["Bandwith"] = 10 }, "Bandwith"},
		{"Name too short", func(d map[string]any) { d["Name"] = "a" }, "Name"},
		{"Name starts with a digit", func(d map[string]any) { d["Name"] = "1gateway" }, "Name"},
		{"Name is a URL", func(d map[string]any) { d["Name"] = "http://gw" }, "Name"},
		{"InstanceChargeType unknown", func(d map[string]any) { d["InstanceChargeType"] = "MONTHLY" }, "InstanceChargeType"},
		{"Period out of range", func(d map[string]any) { d["InstanceChargeType"] = "PREPAY"; d["Period"] = 10 }, "Period"},
		{"Period without a subscription", func(d map[string]any) { d["Period"] = 1 }, "Period"},
		{"Bandwidth not offered", func(d map[string]any) { d["Bandwidth"] = 15 }, "Bandwidth"},
		{"private Bandwidth", func(d map[string]any) { d["NetworkType"] = "private"; d["Bandwidth"] = 100 }, "Bandwidth"},
		{"SslConnections not offered", func(d map[string]any) { d["EnableSsl"] = true; d["SslConnections"] = 7 }, "SslConnections"},
		{"VpnType unknown", func(d map[string]any) { d["VpnType"] = "Turbo" }, "VpnType"},
		{"NetworkType unknown", func(d map[string]any) { d["NetworkType"] = "hybrid" }, "NetworkType"},
		{"SSL on a private gateway", func(d map[string]any) { d["NetworkType"] = "private"; d["Bandwidth"] = 200; d["EnableSsl"] = true }, "EnableSsl"},
		{"ClientToken not ASCII", func(d map[string]any) { d["ClientToken"] = "tökén" }, "ClientToken"},
		{"too many tags", func(d map[string]any) { d["Tags"] = manyTags }, "Tags"},
		{"tag key reserved", func(d map[string]any) { d["Tags"] = []map[string]string{{"Key": "aliyun:x", "Value": "v"}} }, "Tags[0].Key"},
		{"tag value too long", func(d map[string]any) {
			d["Tags"] = []map[string]string{{"Key": "k", "Value": strings.Repeat("v", 129)}}
		}, "Tags[0].Value"},
		{"dual-tunnel region without the second vSwitch", func(d map[string]any) { delete(d, "DisasterRecoveryVSwitchId") }, "DisasterRecoveryVSwitchId"},
		{"dual-tunnel vSwitches equal", func(d map[string]any) { d["DisasterRecoveryVSwitchId"] = d["VSwitchId"] }, "DisasterRecoveryVSwitchId"},
		{"Bandwidth not a number", func(d map[string]any) { d["Bandwidth"] = "10" }, "Bandwidth"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := validData()
			tc.edit(d)
			resp, err := s.provision(requestEvent(fmt.Sprintf("bad-%02d", i), d))
			if err != nil {
				t.Fatalf("a rejected request must not fail the invocation: %v", err)
			}
			r := resp.Results[0]
			if r.State != store.Failed || r.Code != events.CodeInvalidRequest {
				t.Fatalf("result %+v, want failed InvalidRequest", r)
			}
			var named []string
			for _, e := range r.Errors {
				named = append(named, e.Field)
				if e.Field == tc.field && e.Message == "" {
					t.Errorf("error for %s has no message", e.Field)
				}
			}
			if !strings.Contains(","+strings.Join(named, ",")+",", ","+tc.field+",") {
				b, _ := json.Marshal(r.Errors)
				t.Fatalf("errors name %v, want %s: %s", named, tc.field, b)
			}
		})
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for invalid requests, want 0", n)
	}
	if n := len(s.EventsOfType(events.TypeFailed)); n != len(cases) {
		t.Fatalf("%d failed events, want %d", n, len(cases))
	}
}
