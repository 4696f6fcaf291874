package events_test

import (
	"testing"

	"github.com/vpngw/vpngw/events"
)

// TestDeleteRequestSchemaNamesOneGateway checks the schema takes a gateway
// named one way, by id or by its create request, and refuses both, neither
// and half of the id form.
func TestDeleteRequestSchemaNamesOneGateway(t *testing.T) {
	s := loadSchema(t, events.TypeDeleteRequested)
	for _, tc := range []struct {
		data string
		ok   bool
	}{
		{`{"RegionId":"cn-hangzhou","VpnGatewayId":"vpn-bp1abc"}`, true},
		{`{"Request":{"Source":"/ops","Id":"r-1"}}`, true},
		{`{}`, false},
		{`{"RegionId":"cn-hangzhou"}`, false},
		{`{"VpnGatewayId":"vpn-bp1abc"}`, false},
		{`{"RegionId":"cn-hangzhou","VpnGatewayId":"vpn-bp1abc","Request":{"Source":"/ops","Id":"r-1"}}`, false},
		{`{"VpnGatewayId":"vpn-bp1abc","Request":{"Source":"/ops","Id":"r-1"}}`, false},
		{`{"Request":{"Source":"/ops"}}`, false},
		{`{"RegionId":"cn-hangzhou","VpnGatewayId":"vpc-bp1abc"}`, false},
		{`{"RegionId":"cn-hangzhou","VpnGatewayId":"vpn-bp1abc","VpcId":"vpc-x"}`, false},
	} {
		errs := s.validate([]byte(tc.data))
		if got := len(errs) == 0; got != tc.ok {
			t.Errorf("%s: accepted %v, want %v (%v)", tc.data, got, tc.ok, errs)
		}
	}
}
