package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

const (
	chatSlackSecret    = "chat-test-slack-signing-secret-01"
	chatDingTalkSecret = "chat-test-dingtalk-app-secret-01"
)

// chatPolicy lets each chat platform create, naming its caller.
const chatPolicy = `version: 1
rules:
  - name: slack
    match:
      source: "slack:*"
      caller: slack
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY, PREPAY]
  - name: dingtalk
    match:
      source: "dingtalk:*"
      caller: dingtalk
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY, PREPAY]
`

const chatCreate = "create region=cn-hangzhou vpc=vpc-bp1vpngwdemo0000001 bandwidth=10 " +
	"vswitch=vsw-bp1vpngwdemo0000001 dr-vswitch=vsw-bp1vpngwdemo0000002 charge=POSTPAY name=chat-gateway"

func newChatStack(t *testing.T) *stack {
	return newStack(t, apptest.WithEnv(map[string]string{
		"VPNGW_SLACK_SIGNING_SECRET": chatSlackSecret,
		"VPNGW_DINGTALK_APP_SECRET":  chatDingTalkSecret,
		"VPNGW_POLICY_INLINE":        chatPolicy,
	}))
}

func macSHA256(key, msg string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// slackCommand posts a slash command to the webhook's /slack, signed as
// Slack signs it, from the chat test's user, and returns the text of the
// answer.
func (s *stack) slackCommand(trigger, text string) string {
	s.t.Helper()
	return s.slackAs("U0CHATUSER1", trigger, text)
}

// dingTalkMessage posts a robot message to the webhook's /dingtalk, signed
// as DingTalk signs it, and returns the text of the answer.
func (s *stack) dingTalkMessage(msgID, text string) string {
	s.t.Helper()
	return s.dingTalkFrom(map[string]any{"senderStaffId": "staff-chat-1"}, msgID, text)
}

// dingTalkFrom is dingTalkMessage from the sender that from names
// (senderStaffId, senderId).
func (s *stack) dingTalkFrom(from map[string]any, msgID, text string) string {
	s.t.Helper()
	m := map[string]any{"msgtype": "text", "text": map[string]string{"content": text},
		"msgId": msgID, "conversationId": "cidCHATtest01=="}
	maps.Copy(m, from)
	body, _ := json.Marshal(m)
	ts := strconv.FormatInt(s.Clock.Now().UnixMilli(), 10)
	req := httptest.NewRequest(http.MethodPost, "/dingtalk", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("timestamp", ts)
	req.Header.Set("sign", base64.StdEncoding.EncodeToString(macSHA256(chatDingTalkSecret, ts+"\n"+chatDingTalkSecret)))
	w := httptest.NewRecorder()
	s.App.Webhook.ServeHTTP(w, req)
	var a struct {
		Text struct{ Content string }
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &a) != nil {
		s.t.Fatalf("/dingtalk: status %d: %s", w.Code, w.Body)
	}
	return a.Text.Content
}

var gatewayID = regexp.MustCompile(`vpn-[0-9a-z]+`)

// TestChatCreateCreates: a chat create calls CreateVpnGateway within the
// chat's answer time, and the answer names the gateway the emulator holds.
func TestChatCreateCreates(t *testing.T) {
	for _, route := range []struct {
		name string
		send func(s *stack) string
	}{
		{"slack", func(s *stack) string { return s.slackCommand("trigger-chat-1", chatCreate) }},
		{"dingtalk", func(s *stack) string { return s.dingTalkMessage("msg-chat-1", chatCreate) }},
	} {
		t.Run(route.name, func(t *testing.T) {
			s := newChatStack(t)
			answer := route.send(s)
			gws := s.API.Gateways()
			if len(gws) != 1 {
				t.Fatalf("the emulator holds %d gateways, want 1; the answer: %s", len(gws), answer)
			}
			if got := gatewayID.FindString(answer); got != gws[0].ID {
				t.Fatalf("answer %q names %q, want the gateway %s", answer, got, gws[0].ID)
			}
		})
	}
}

// TestChatCreateSlowAPI: when the API cannot answer before the chat answer
// is due, the answer says the request is recorded and goes on, the record
// stays Received (with why) for the re-drive, and a re-drive then creates
// the one gateway.
func TestChatCreateSlowAPI(t *testing.T) {
	for _, route := range []struct {
		name, source, id string
		send             func(s *stack) string
	}{
		{"slack", "slack:T0CHAT001", "trigger-slow-1", func(s *stack) string { return s.slackCommand("trigger-slow-1", chatCreate) }},
		{"dingtalk", "dingtalk:cidCHATtest01==", "msg-slow-1", func(s *stack) string { return s.dingTalkMessage("msg-slow-1", chatCreate) }},
	} {
		t.Run(route.name, func(t *testing.T) {
			s := newChatStack(t)
			s.API.SetFaults(vpcsim.Faults{Latency: 5 * time.Second})
			answer := route.send(s)
			if !strings.Contains(answer, "recorded") || gatewayID.MatchString(answer) {
				t.Errorf("answer %q: want it to say the request is recorded and goes on, naming no gateway", answer)
			}
			rec, err := s.App.Store.Get(t.Context(), requestKey(route.source, route.id))
			if err != nil || rec.State != store.Received || rec.Attempts == 0 || rec.LastError == "" {
				t.Fatalf("record %+v, %v: want it Received with the attempt and why, for the re-drive", rec, err)
			}
			s.API.SetFaults(vpcsim.Faults{})
			s.Clock.Advance(time.Since(s.Clock.Now()) + 3*time.Minute) // the store stamps with the wall clock
			if rep := s.tick(); rep.Redriven != 1 {
				t.Fatalf("tick: %+v, want the request re-driven", rep)
			}
			rec, err = s.App.Store.Get(t.Context(), requestKey(route.source, route.id))
			if gws := s.API.Gateways(); err != nil || len(gws) != 1 || rec.GatewayID != gws[0].ID {
				t.Fatalf("after the re-drive: record %+v, %v; gateways %+v: want the one gateway", rec, err, gws)
			}
		})
	}
}

// A create that the operator's policy makes a dry run is answered as such:
// not "send the same keys with create", which the user just did and which
// would make a dry run again. A check still gets that advice.
func TestChatCreateMadeDryRunByThePolicy(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{
		"VPNGW_DINGTALK_APP_SECRET": chatDingTalkSecret,
		"VPNGW_POLICY_INLINE":       strings.Replace(chatPolicy, "      caller: dingtalk\n", "      caller: dingtalk\n    dryRun: true\n", 1),
	}))
	got := s.dingTalkMessage("msgDryCreate", chatCreate)
	if strings.Contains(got, "send the same keys with create") || !strings.Contains(got, "policy makes it a dry run") || !strings.Contains(got, "nothing was created") {
		t.Errorf("answer to a create made a dry run: %q", got)
	}
	got = s.dingTalkMessage("msgDryCheck", strings.Replace(chatCreate, "create", "check", 1))
	if !strings.Contains(got, "send the same keys with create") {
		t.Errorf("answer to a check: %q, want it to say to send create", got)
	}
	if n := len(s.API.Gateways()); n != 0 {
		t.Errorf("%d gateways created, want none", n)
	}
}
