package vpcsim

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
)

// Where the service refuses a parameter, the emulator refuses it too, sent
// through the real SDK; doc.go lists what it still accepts, and why.
func TestCreateIsStrictWhereTheServiceIs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		edit   func(*vpc.CreateVpnGatewayRequest)
		code   string
		status int
	}{
		{name: "lower-case charge type", edit: func(r *vpc.CreateVpnGatewayRequest) { r.InstanceChargeType = "postpay" },
			code: "InvalidParameter", status: 400},
		{name: "PREPAY without Period", edit: func(r *vpc.CreateVpnGatewayRequest) { r.InstanceChargeType = "PREPAY" },
			code: "MissingPeriod", status: 400},
		{name: "PREPAY on the international site", opts: []Option{WithSite(SiteInternational)}, edit: func(r *vpc.CreateVpnGatewayRequest) {
			r.Bandwidth, r.InstanceChargeType, r.Period = requests.NewInteger(10), "PREPAY", requests.NewInteger(1)
		}, code: "InvalidParameter", status: 400},
		{name: "malformed ResourceGroupId", edit: func(r *vpc.CreateVpnGatewayRequest) { r.ResourceGroupId = "RG_team" },
			code: "InvalidResourceGroupId", status: 400},
		{name: "name starting with a non-English letter", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "éclair-gw" },
			code: "InvalidName", status: 400},
		{name: "name starting with a full-width letter", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "ｖpn-gw" },
			code: "InvalidName", status: 400},
		{name: "name with a Cyrillic letter inside", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Name = "gw-я" },
			code: "InvalidName", status: 400},
		{name: "Tag.N and Tags.N mixed", edit: func(r *vpc.CreateVpnGatewayRequest) {
			r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "env", Value: "prod"}}
			r.QueryParams["Tag.2.Key"] = "team"
			r.QueryParams["Tag.2.Value"] = "net"
		}, code: "InvalidParameter", status: 400},
		{name: "boolean in upper case", edit: func(r *vpc.CreateVpnGatewayRequest) { r.EnableSsl = requests.Boolean("TRUE") },
			code: "InvalidParameter", status: 400},
		{name: "boolean capitalised", edit: func(r *vpc.CreateVpnGatewayRequest) { r.AutoPay = requests.Boolean("False") },
			code: "InvalidParameter", status: 400},
		{name: "integer with a plus sign", edit: func(r *vpc.CreateVpnGatewayRequest) { r.Bandwidth = requests.Integer("+10") },
			code: "InvalidParameter", status: 400},
		{name: "control character in ClientToken", edit: func(r *vpc.CreateVpnGatewayRequest) { r.ClientToken = "token\x01one" },
			code: "InvalidParameter", status: 400},
		{name: "DEL in ClientToken", edit: func(r *vpc.CreateVpnGatewayRequest) { r.ClientToken = "token\x7fone" },
			code: "InvalidParameter", status: 400},
		{name: "non-ASCII ClientToken", edit: func(r *vpc.CreateVpnGatewayRequest) { r.ClientToken = "tökën" },
			code: "InvalidParameter", status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, tc.opts...)
			r := sim.createRequest()
			tc.edit(r)
			_, err := sim.client(t).CreateVpnGateway(r)
			wantServerError(t, err, tc.code, tc.status)
			if n := len(sim.Gateways()); n != 0 {
				t.Fatalf("a refused call created %d gateways", n)
			}
		})
	}
}

// What the strict rules still let through, as the service does.
func TestCreateAcceptsWhatTheServiceAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*vpc.CreateVpnGatewayRequest)
	}{
		{"Chinese name", func(r *vpc.CreateVpnGatewayRequest) { r.Name = "网关-一号" }},
		{"PREPAY with Period", func(r *vpc.CreateVpnGatewayRequest) {
			r.InstanceChargeType, r.Period = "PREPAY", requests.NewInteger(12)
		}},
		{"well-formed ResourceGroupId", func(r *vpc.CreateVpnGatewayRequest) { r.ResourceGroupId = "rg-acfmteam000002" }},
		{"Tag.N alone", func(r *vpc.CreateVpnGatewayRequest) {
			r.QueryParams["Tag.1.Key"], r.QueryParams["Tag.1.Value"] = "env", "prod"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t)
			r := sim.createRequest()
			tc.edit(r)
			mustCreate(t, sim.client(t), r)
		})
	}
}
