package app

import (
	"strings"
	"testing"
)

// The addresses chat replies carry a token to (the Slack bot token in a
// header, the DingTalk robot's access_token in its URL) must be https, or
// http to this machine (a test's stand-in): one mistyped scheme would send
// the token in clear. The refusal names the variable and never the token.
func TestChatReplyAddressesNeedTLS(t *testing.T) {
	for _, tc := range []struct {
		name, val string
		ok        bool
	}{
		{"VPNGW_SLACK_API_URL", "https://slack.com/api/", true},
		{"VPNGW_SLACK_API_URL", "http://127.0.0.1:9/api/", true},
		{"VPNGW_SLACK_API_URL", "http://slack.com/api/", false},
		{"VPNGW_SLACK_API_URL", "slack.com/api/", false},
		{"VPNGW_DINGTALK_ROBOT_WEBHOOK", "https://oapi.dingtalk.com/robot/send?access_token=tok3nvalue", true},
		{"VPNGW_DINGTALK_ROBOT_WEBHOOK", "http://[::1]:9/robot/send?access_token=tok3nvalue", true},
		{"VPNGW_DINGTALK_ROBOT_WEBHOOK", "http://oapi.dingtalk.com/robot/send?access_token=tok3nvalue", false},
		{"VPNGW_DINGTALK_ROBOT_WEBHOOK", "oapi.dingtalk.com/robot/send?access_token=tok3nvalue", false},
	} {
		_, err := FromEnv(func(k string) string {
			if k == tc.name {
				return tc.val
			}
			return ""
		}, Local)
		named := err != nil && strings.Contains(err.Error(), tc.name)
		if tc.ok == named {
			t.Errorf("%s=%s: %v, want refused %v", tc.name, tc.val, err, !tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "tok3nvalue") {
			t.Errorf("%s: the refusal shows the token: %v", tc.name, err)
		}
	}
}
