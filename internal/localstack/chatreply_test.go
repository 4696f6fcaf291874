package localstack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/chatsim"
)

const chatSigningSecret = "localstack-slack-signing-secret-1"

// slashCommand posts a slash command to the stack's /webhook/slack, signed
// as Slack signs it, and returns the text of the immediate answer.
func slashCommand(t *testing.T, addr, trigger, responseURL, text string) string {
	t.Helper()
	body := url.Values{"team_id": {"T0LOCAL01"}, "user_id": {"U0LOCAL01"}, "channel_id": {"C0LOCAL01"}, "trigger_id": {trigger},
		"command": {"/vpngw"}, "text": {text}, "response_url": {responseURL}}.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(chatSigningSecret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook/slack", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Text string }
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &a) != nil {
		t.Fatalf("/webhook/slack: %d %s", resp.StatusCode, raw)
	}
	return a.Text
}

var gatewayIDPattern = regexp.MustCompile(`vpn-[0-9a-z]+`)

// The must-show of chat replies: with a stand-in for Slack allowed by
// VPNGW_CHAT_REPLY_ALLOW, a signed create through /webhook/slack answers
// with the gateway id, and the command's response_url then receives the
// active message naming the same gateway, once, after the accepted one. A
// command whose signed body names a response_url on a host no one allowed
// gets its answer, and that URL is never called.
func TestLocalStackSlackReplyInConversation(t *testing.T) {
	slack := chatsim.NewSlack(nil)
	defer slack.Close()
	var forgedHits atomic.Int32
	forged := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { forgedHits.Add(1) }))
	defer forged.Close()

	l, out := startLocalEnv(t, map[string]string{
		"VPNGW_EMULATOR_DELAY":       "300ms",
		"VPNGW_RECONCILE_INTERVAL":   "100ms",
		"VPNGW_SLACK_SIGNING_SECRET": chatSigningSecret,
		"VPNGW_CHAT_REPLY_ALLOW":     slack.URL + "/commands/",
	})

	const create = "create region=cn-hangzhou vpc=vpc-bp1vpngwdemo0000001 bandwidth=10 " +
		"vswitch=vsw-bp1vpngwdemo0000001 dr-vswitch=vsw-bp1vpngwdemo0000002 charge=POSTPAY name=chat-reply"
	answer := slashCommand(t, l.HTTPAddr, "trigger-reply-1", slack.ResponseURL(), create)
	gw := gatewayIDPattern.FindString(answer)
	if gw == "" {
		t.Fatalf("answer names no gateway: %q", answer)
	}
	forgedAnswer := slashCommand(t, l.HTTPAddr, "trigger-forged-1", forged.URL+"/commands/T0LOCAL01/1/x", strings.Replace(create, "chat-reply", "chat-forged", 1))
	forgedGW := gatewayIDPattern.FindString(forgedAnswer)
	if forgedGW == "" {
		t.Fatalf("answer to the command with a forged response_url names no gateway: %q", forgedAnswer)
	}

	activeOf := func(id string) *regexp.Regexp {
		return regexp.MustCompile(`io\.vpngw\.gateway\.active[^\n]*\n[^\n]*` + regexp.QuoteMeta(id))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := false
		for _, p := range slack.Posts() {
			if strings.Contains(p.Text, gw+" is active") {
				got = true
			}
		}
		if got && activeOf(forgedGW).MatchString(out.String()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no active message for %s at the response_url within 60 s; posts: %+v", gw, slack.Posts())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Drains after the fact post nothing again.
	for range 3 {
		if _, err := l.App.Outbox.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var texts []string
	for _, p := range slack.Posts() {
		texts = append(texts, p.Text)
		if p.ResponseType != "ephemeral" {
			t.Errorf("post %q is %q, want ephemeral (VPNGW_SLACK_REPLY's default)", p.Text, p.ResponseType)
		}
	}
	if len(texts) != 2 || !strings.HasPrefix(texts[0], "VPN gateway "+gw+" is being created") || !strings.HasPrefix(texts[1], "VPN gateway "+gw+" is active") {
		t.Fatalf("response_url received %q, want the accepted then the active message of %s, once each", texts, gw)
	}
	if !strings.Contains(texts[1], "Bandwidth: 10 Mbps") || !strings.Contains(texts[1], "Public IP: ") || !strings.Contains(texts[1], "after the command") {
		t.Errorf("active message lacks IP, bandwidth or time taken: %q", texts[1])
	}
	if n := forgedHits.Load(); n != 0 {
		t.Errorf("the response_url on a host no one allowed was called %d times", n)
	}
}
