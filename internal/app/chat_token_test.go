package app_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// slackAs sends a signed /vpngw command as a user of workspace T0CHAT001
// and returns the text of the answer, which must be a 200 with JSON.
func (s *stack) slackAs(user, trigger, text string) string {
	s.t.Helper()
	body := url.Values{"team_id": {"T0CHAT001"}, "user_id": {user}, "trigger_id": {trigger},
		"command": {"/vpngw"}, "text": {text}}.Encode()
	ts := strconv.FormatInt(s.Clock.Now().Unix(), 10)
	req := httptest.NewRequest(http.MethodPost, "/slack", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(macSHA256(chatSlackSecret, "v0:"+ts+":"+body)))
	w := httptest.NewRecorder()
	s.App.Webhook.ServeHTTP(w, req)
	var a struct{ Text string }
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &a) != nil {
		s.t.Fatalf("/slack: status %d: %s", w.Code, w.Body)
	}
	return a.Text
}

// Two Slack users of one workspace share the source slack:<team>. The
// first to use a ClientToken must not make the other's request with that
// token fail for good: the API token is derived from the requester too.
// Each user's own retries (new commands, same token) keep one gateway.
func TestChatUsersCannotSquatEachOthersToken(t *testing.T) {
	s := newChatStack(t)
	a := s.slackAs("U0ATTACKER", "trig-a", strings.Replace(chatCreate, "bandwidth=10", "bandwidth=5", 1)+" ClientToken=ticket-4711")
	t.Logf("attacker: %s", a)
	v := s.slackAs("U0CHATUSER1", "trig-v", chatCreate+" ClientToken=ticket-4711")
	t.Logf("victim: %s", v)
	if strings.Contains(v, "refused") || strings.Contains(v, "IdempotentParameterMismatch") {
		t.Fatalf("the victim's request failed because another chat user used its token first: %s", v)
	}
	if n := len(s.API.Gateways()); n != 2 {
		t.Fatalf("%d gateways, want one per user", n)
	}
	again := s.slackAs("U0CHATUSER1", "trig-v2", chatCreate+" ClientToken=ticket-4711")
	t.Logf("victim's retry: %s", again)
	if n := len(s.API.Gateways()); n != 2 {
		t.Fatalf("%d gateways after the victim's retry with its token, want still 2", n)
	}
}
