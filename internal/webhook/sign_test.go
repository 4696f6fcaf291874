package webhook_test

import (
	"testing"

	"github.com/vpngw/vpngw/internal/webhook"
)

// The exported signers (vpngwctl send signs with them) compute the schemes
// as documented, checked against this package's tests' own writing of them,
// and the handler takes what they sign.
func TestExportedSignersFollowTheSchemes(t *testing.T) {
	body := "command=%2Fvpngw&text=help&team_id=T1&trigger_id=x.1&user_id=U1"
	ts, sig := webhook.SignSlack(testSlackSecret, testNow, []byte(body))
	if ts != unix(testNow) || sig != slackSign(testSlackSecret, ts, body) {
		t.Errorf("SignSlack: %s %s, want %s %s", ts, sig, unix(testNow), slackSign(testSlackSecret, unix(testNow), body))
	}
	ts, sign := webhook.SignDingTalk(testDingTalkSecret, testNow)
	if ts != unixMilli(testNow) || sign != dingTalkSign(testDingTalkSecret, ts) {
		t.Errorf("SignDingTalk: %s %s, want %s %s", ts, sign, unixMilli(testNow), dingTalkSign(testDingTalkSecret, unixMilli(testNow)))
	}
	ts, sig = webhook.Sign(testSecret, testNow, []byte(sampleEvent))
	if ts != unix(testNow) || sig != genericSign(testSecret, ts, sampleEvent) {
		t.Errorf("Sign: %s %s", ts, sig)
	}
}
