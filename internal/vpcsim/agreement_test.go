package vpcsim_test

import (
	"slices"
	"testing"

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
