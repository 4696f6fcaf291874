package vpcsim_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// The emulator and the request validator each keep the documented list of
// regions where CreateVpnGateway requires two vSwitches, independently, so
// that neither is tested against itself. They must agree.
func TestDualTunnelRegionsAgreeWithTheValidator(t *testing.T) {
	a, b := slices.Clone(vpcsim.DualTunnelRegions), slices.Clone(request.DualTunnelRegions)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Fatalf("emulator %v\nvalidator %v", a, b)
	}
}

// The emulator's name rule and the validator's are kept apart, so that
// neither is tested against itself; they must agree on what a name may be.
func TestNameRuleAgreesWithTheValidator(t *testing.T) {
	sim := vpcsim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := vpc.NewClientWithAccessKey("cn-hangzhou", vpcsim.DefaultAccessKeyID, vpcsim.DefaultAccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gw-1", "Gw.2_x", "网关-一号", "éclair", "gw-я", "ｖpn", "1gw", "_gw", "g", "gw one", "http://gw", "gw+1"} {
		r := vpc.CreateCreateVpnGatewayRequest()
		r.Scheme, r.Domain = "http", strings.TrimPrefix(srv.URL, "http://")
		r.RegionId, r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "cn-hangzhou", "vpc-bp1vpngwdemo0000001", "vsw-bp1vpngwdemo0000001", "vsw-bp1vpngwdemo0000002"
		r.Bandwidth, r.Name = requests.NewInteger(10), name
		_, apiErr := client.CreateVpnGateway(r)
		bw := 10
		valid := request.Validate(events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1vpngwdemo0000001", Bandwidth: &bw,
			VSwitchId: "vsw-bp1vpngwdemo0000001", DisasterRecoveryVSwitchId: "vsw-bp1vpngwdemo0000002", Name: name}) == nil
		if (apiErr == nil) != valid {
			t.Errorf("name %q: emulator error %v, validator says valid=%t", name, apiErr, valid)
		}
	}
}
