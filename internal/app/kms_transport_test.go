package app

import (
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/runtime"
)

// TestKMSEndpointNeedsTLS: the secrets come back in KMS's answers, so a
// function reads them over HTTPS only, as it reaches every other endpoint;
// http:// is refused naming the variable unless the insecure switch is on.
func TestKMSEndpointNeedsTLS(t *testing.T) {
	for _, tc := range []struct {
		endpoint, insecure string
		refused            bool
	}{
		{"http://kms.internal:8080", "", true},
		{"HTTP://kms.internal", "", true},
		{"http://kms.internal:8080", "1", false},
		{"https://kms-vpc.cn-hangzhou.aliyuncs.com", "", false},
		{"kms-vpc.cn-hangzhou.aliyuncs.com", "", false},
		{"", "", false},
	} {
		env := map[string]string{runtime.EnvFC: "127.0.0.1:9000", "FC_REGION": "cn-hangzhou",
			"VPNGW_KMS_ENDPOINT": tc.endpoint, "VPNGW_ALLOW_INSECURE_TRANSPORT": tc.insecure}
		_, err := secretSource(func(k string) string { return env[k] })
		switch {
		case tc.refused && (err == nil || !strings.Contains(err.Error(), "VPNGW_KMS_ENDPOINT")):
			t.Errorf("%q (insecure %q): %v, want a refusal naming VPNGW_KMS_ENDPOINT", tc.endpoint, tc.insecure, err)
		case !tc.refused && err != nil:
			t.Errorf("%q (insecure %q): %v, want it taken", tc.endpoint, tc.insecure, err)
		}
	}
}
