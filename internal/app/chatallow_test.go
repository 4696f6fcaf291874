package app

import (
	"strings"
	"testing"
)

// VPNGW_CHAT_REPLY_ALLOW takes http:// to this machine only; a refusal
// names the variable and shows no password.
func TestChatReplyAllowNeedsTLSElsewhere(t *testing.T) {
	if _, err := FromEnv(functionEnv(map[string]string{"VPNGW_CHAT_REPLY_ALLOW": "http://127.0.0.1:9000/,https://proxy.internal/slack"}), Function); err != nil {
		t.Fatalf("loopback http and https refused: %v", err)
	}
	for _, v := range []string{"http://proxy.internal/slack", "https://ok.example/,http://u:pw-secret@proxy.internal/"} {
		_, err := FromEnv(functionEnv(map[string]string{"VPNGW_CHAT_REPLY_ALLOW": v}), Function)
		if err == nil || !strings.Contains(err.Error(), "VPNGW_CHAT_REPLY_ALLOW") || strings.Contains(err.Error(), "pw-secret") {
			t.Errorf("VPNGW_CHAT_REPLY_ALLOW=%s: %v; want a refusal naming the variable, without the password", v, err)
		}
	}
}
