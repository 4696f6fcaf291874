package request_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/request"
)

func TestParseDelete(t *testing.T) {
	good := []string{
		`{"RegionId":"cn-hangzhou","VpnGatewayId":"vpn-bp1abc"}`,
		`{"Request":{"Source":"/ops/portal","Id":"r-1"}}`,
	}
	for _, g := range good {
		if _, err := request.ParseDelete([]byte(g)); err != nil {
			t.Errorf("%s: %v", g, err)
		}
	}
	d, _ := request.ParseDelete([]byte(good[1]))
	if d.Request == nil || d.Request.Source != "/ops/portal" || d.Request.EventID != "r-1" {
		t.Errorf("Request = %+v", d.Request)
	}
	for _, tc := range []struct{ name, data, field string }{
		{"empty", ``, "data"},
		{"array", `[1]`, "data"},
		{"nothing named", `{}`, "VpnGatewayId"},
		{"unknown member", `{"RegionId":"cn-hangzhou","VpnGatewayId":"vpn-bp1abc","VpcId":"vpc-1"}`, "VpcId"},
		{"wrong case", `{"regionId":"cn-hangzhou","VpnGatewayId":"vpn-bp1abc"}`, "regionId"},
		{"no region", `{"VpnGatewayId":"vpn-bp1abc"}`, "RegionId"},
		{"bad region", `{"RegionId":"Hangzhou","VpnGatewayId":"vpn-bp1abc"}`, "RegionId"},
		{"not a gateway id", `{"RegionId":"cn-hangzhou","VpnGatewayId":"vpc-bp1abc"}`, "VpnGatewayId"},
		{"gateway id a number", `{"RegionId":"cn-hangzhou","VpnGatewayId":5}`, "VpnGatewayId"},
		{"both forms", `{"RegionId":"cn-hangzhou","VpnGatewayId":"vpn-bp1abc","Request":{"Source":"s","Id":"i"}}`, "Request"},
		{"request not an object", `{"Request":"r-1"}`, "Request"},
		{"request without id", `{"Request":{"Source":"s"}}`, "Request.Id"},
		{"request empty source", `{"Request":{"Source":"","Id":"i"}}`, "Request.Source"},
		{"request unknown member", `{"Request":{"Source":"s","Id":"i","Subject":"x"}}`, "Request.Subject"},
		{"trailing", `{"Request":{"Source":"s","Id":"i"}} {}`, "data"},
		{"repeated", `{"RegionId":"cn-hangzhou","RegionId":"cn-hangzhou","VpnGatewayId":"vpn-bp1abc"}`, "RegionId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := request.ParseDelete([]byte(tc.data))
			var perr *request.Error
			if !errors.As(err, &perr) {
				t.Fatalf("ParseDelete(%s) = %v, want *request.Error", tc.data, err)
			}
			var fields []string
			for _, fe := range perr.Errors {
				fields = append(fields, fe.Field)
				if fe.Message == "" {
					t.Errorf("error on %s has no message", fe.Field)
				}
			}
			if !strings.Contains(strings.Join(fields, ","), tc.field) {
				t.Errorf("errors name %v, want %s", fields, tc.field)
			}
		})
	}
}

func TestDeleteClientTokenIsStableAndApart(t *testing.T) {
	id := request.Identity{Source: "/ops", EventID: "del-1"}
	a, b := request.DeleteClientToken(id), request.DeleteClientToken(id)
	if a != b || len(a) > 64 {
		t.Errorf("tokens %q, %q", a, b)
	}
	if a == request.DeleteClientToken(request.Identity{Source: "/ops", EventID: "del-2"}) {
		t.Error("two delete requests share a token")
	}
	if strings.HasPrefix(a, request.DerivedTokenPrefix+"t-") {
		t.Error("a delete token looks like a create token made from a given token")
	}
}
