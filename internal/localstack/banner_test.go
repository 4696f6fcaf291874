package localstack

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The banner says what is running: each webhook route and whether it is on
// (and the route answers as the banner says), the policy in force, the key
// API calls are signed with, and that the CloudEvents endpoint is the event
// bus's unauthenticated stand-in.
func TestLocalBannerSaysWhatIsRunning(t *testing.T) {
	policyFile, err := filepath.Abs("../../deploy/policy.sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		policy string
		on     map[string]bool
	}{
		{"defaults", nil, "allow-all, local only", map[string]bool{}},
		{"Slack on, the sample policy", map[string]string{"VPNGW_SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef", "VPNGW_POLICY": policyFile},
			policyFile, map[string]bool{"/slack": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := startLocalEnv(t, tc.env)
			var b bytes.Buffer
			l.Banner(&b)
			banner := b.String()
			want := []string{
				"NOT authenticated",
				"policy                     " + tc.policy,
				"signs API calls with       access key " + l.SigningKeyID,
			}
			for _, r := range []struct{ path, what, variable string }{
				{"/", "signed CloudEvents", "VPNGW_WEBHOOK_KEYS or VPNGW_WEBHOOK_SECRET"},
				{"/slack", "Slack slash commands", "VPNGW_SLACK_SIGNING_SECRET"},
				{"/dingtalk", "DingTalk robot messages", "VPNGW_DINGTALK_APP_SECRET"},
			} {
				state := "off (set " + r.variable + ")"
				if tc.on[r.path] {
					state = "on, signed with " + r.variable
				}
				want = append(want, "http://"+l.HTTPAddr+"/webhook"+r.path+"  "+r.what+": "+state)
				// The route answers as the banner says: an unsigned
				// request is refused 401 by a route that is on, and a
				// route that is off is not there (404).
				resp, err := http.Post("http://"+l.HTTPAddr+"/webhook"+r.path, "application/json", strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				wantCode := http.StatusNotFound
				if tc.on[r.path] {
					wantCode = http.StatusUnauthorized
				}
				if resp.StatusCode != wantCode {
					t.Errorf("POST /webhook%s: %d, want %d", r.path, resp.StatusCode, wantCode)
				}
			}
			for _, w := range want {
				if !strings.Contains(banner, w) {
					t.Errorf("banner does not say %q:\n%s", w, banner)
				}
			}
		})
	}
}
