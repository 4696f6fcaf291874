package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/policy"
)

const lifetimeRule = `version: 1
rules:
  - name: vendors
    match: {source: "/vendors"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 10
    chargeTypes: [POSTPAY]
    requireExpiry: true
    maxLifetime: %s
`

func TestLifetime(t *testing.T) {
	p, err := policy.Parse("test.yaml", []byte(strings.Replace(lifetimeRule, "%s", "168h", 1)))
	if err != nil {
		t.Fatal(err)
	}
	who := policy.Requester{Source: "/vendors"}
	bw := 10
	d, err := p.Decide(who, events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1x", Bandwidth: &bw, InstanceChargeType: "POSTPAY"})
	if err != nil || !d.Allowed {
		t.Fatalf("decide: %+v %v", d, err)
	}
	for _, tc := range []struct {
		lifetime time.Duration
		key      string // "" allowed
	}{
		{0, "requireExpiry"},
		{time.Hour, ""},
		{168 * time.Hour, ""},
		{169 * time.Hour, "maxLifetime"},
	} {
		got := d.CheckLifetime(who, tc.lifetime)
		if got.Allowed != (tc.key == "") {
			t.Errorf("lifetime %s: allowed %v: %s", tc.lifetime, got.Allowed, got.Message)
			continue
		}
		if tc.key != "" && (!strings.Contains(got.Message, tc.key+":") || len(got.Violations) != 1 || got.Violations[0].Field != "vpngwexpires") {
			t.Errorf("lifetime %s: %s %+v, want a violation naming %s", tc.lifetime, got.Message, got.Violations, tc.key)
		}
	}
	for _, bad := range []string{`"soon"`, `"-1h"`, `"0s"`} {
		_, err := policy.Parse("test.yaml", []byte(strings.Replace(lifetimeRule, "%s", bad, 1)))
		if err == nil || !strings.Contains(err.Error(), "maxLifetime") || !strings.Contains(err.Error(), "168h") {
			t.Errorf("maxLifetime %s: %v, want an error naming maxLifetime and an example", bad, err)
		}
	}
}
