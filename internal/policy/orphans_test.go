package policy_test

import (
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/policy"
)

func TestOrphansKey(t *testing.T) {
	const rules = "version: 1\nrules:\n  - name: all\n    match: {source: \"*\"}\n    regions: [\"*\"]\n    vpcs: [\"*\"]\n    maxBandwidth: 10\n    chargeTypes: [POSTPAY]\n"
	for _, tc := range []struct{ key, want string }{
		{"", policy.OrphansReport},
		{"orphans: report\n", policy.OrphansReport},
		{"orphans: delete\n", policy.OrphansDelete},
	} {
		p, err := policy.Parse("p.yaml", []byte(tc.key+rules))
		if err != nil {
			t.Fatalf("%q: %v", tc.key, err)
		}
		if got := p.Orphans(); got != tc.want {
			t.Errorf("%q: Orphans() = %q, want %q", tc.key, got, tc.want)
		}
	}
	var none *policy.Policy
	if got := none.Orphans(); got != policy.OrphansReport {
		t.Errorf("no policy: Orphans() = %q, want report", got)
	}
	for _, bad := range []string{"orphans: remove\n", "orphans: [delete]\n", "orphans: true\n"} {
		_, err := policy.Parse("p.yaml", []byte(bad+rules))
		if err == nil || !strings.Contains(err.Error(), "orphans") {
			t.Errorf("%q: err = %v, want one naming orphans", bad, err)
		}
	}
	_, err := policy.Parse("p.yaml", []byte("orphans: remove\n"+rules))
	if err == nil || !strings.Contains(err.Error(), "report, delete") {
		t.Errorf("err = %v, want the allowed values", err)
	}
}
