package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

// Slack's worked example from "Verifying requests from Slack".
const (
	slackDocTimestamp = "1531420618"
	slackDocBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackDocSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func slackForm(text string) string {
	v := url.Values{
		"token": {"ignored"}, "team_id": {"T024BE7LD"}, "team_domain": {"netops"}, "channel_id": {"C2147483705"},
		"user_id": {"U2147483697"}, "user_name": {"steve"}, "command": {"/vpngw"}, "text": {text},
		"response_url": {"https://hooks.example.com/commands/1234/5678"}, "trigger_id": {"13345224609.738474920.8088930838d88f008e0"},
	}
	return v.Encode()
}

// chatRequest is a POST of body to path, of content type ct, with the
// headers given as name, value pairs; a header whose value is "" is left
// out.
func chatRequest(path, ct, body string, headers ...string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return req
}

func slackRequest(body, ts, sig string) *http.Request {
	return chatRequest("/slack", "application/x-www-form-urlencoded", body, "X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig)
}

func signedSlack(body string, at time.Time) *http.Request {
	ts := unix(at)
	return slackRequest(body, ts, slackSign(testSlackSecret, ts, body))
}

// slackText is the text of a slash command's answer, which must be 200 and
// ephemeral.
func slackText(t *testing.T, res result) string {
	t.Helper()
	var a struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := decodeAnswer(t, res, &a); err != nil {
		t.Fatalf("answer %s: %v", res.body, err)
	}
	if a.ResponseType != "ephemeral" {
		t.Errorf("response_type %q, want ephemeral", a.ResponseType)
	}
	return a.Text
}

// TestSlackDocumentedExample: Slack's own example request verifies, signed
// exactly as the documentation shows, and its empty text is answered with
// the help.
func TestSlackDocumentedExample(t *testing.T) {
	if got := slackSign(testSlackSecret, slackDocTimestamp, slackDocBody); got != slackDocSignature {
		t.Fatalf("the test's own signer gives %s for Slack's example, want %s", got, slackDocSignature)
	}
	f := newFixture(t, defaultConfig(), nil)
	f.now = time.Unix(1531420618, 0).Add(30 * time.Second)
	text := slackText(t, f.do(slackRequest(slackDocBody, slackDocTimestamp, slackDocSignature)))
	if !strings.Contains(text, "create region=") || !strings.HasPrefix(text, "```") {
		t.Errorf("empty text answered with %q, want the help in a code block", text)
	}
	f.assertNothingRecorded(t)
}

// refusal is a request a chat platform's check must refuse.
type refusal struct {
	name string
	req  func() *http.Request
}

// assertRefused sends each request to a handler of its own: each is
// answered 401, records nothing and teaches the replay guard nothing.
func assertRefused(t *testing.T, tests []refusal) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, defaultConfig(), nil)
			if res := f.do(tc.req()); res.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", res.status, res.body)
			}
			f.assertNothingRecorded(t)
			if f.guard.size() != 0 {
				t.Error("the replay guard learnt a refused request")
			}
		})
	}
}

// TestSlackAuth: every way a slash command can fail Slack's check answers
// 401 and records nothing.
func TestSlackAuth(t *testing.T) {
	body := slackForm("create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10")
	ts := unix(testNow)
	good := slackSign(testSlackSecret, ts, body)
	tests := []refusal{
		{"bad signature", func() *http.Request { return slackRequest(body, ts, "v0="+strings.Repeat("12", 32)) }},
		{"wrong secret", func() *http.Request { return slackRequest(body, ts, slackSign("another-signing-secret", ts, body)) }},
		{"body tampered after signing", func() *http.Request {
			return slackRequest(strings.Replace(body, "bandwidth%3D10", "bandwidth%3D1000", 1), ts, good)
		}},
		{"stale", func() *http.Request { return signedSlack(body, testNow.Add(-webhook.DefaultMaxSkew-time.Second)) }},
		{"future", func() *http.Request { return signedSlack(body, testNow.Add(webhook.DefaultMaxSkew+time.Second)) }},
		{"missing timestamp", func() *http.Request { return slackRequest(body, "", good) }},
		{"missing signature", func() *http.Request { return slackRequest(body, ts, "") }},
		{"generic scheme's version", func() *http.Request {
			return slackRequest(body, ts, "v1="+strings.TrimPrefix(good, "v0="))
		}},
		{"generic scheme's headers", func() *http.Request {
			r := slackRequest(body, "", "")
			r.Header.Set(webhook.HeaderTimestamp, ts)
			r.Header.Set(webhook.HeaderSignature, genericSign(testSlackSecret, ts, body))
			return r
		}},
	}
	assertRefused(t, tests)
	t.Run("replayed", func(t *testing.T) {
		f := newFixture(t, defaultConfig(), nil)
		slackText(t, f.do(signedSlack(body, testNow)))
		if res := f.do(signedSlack(body, testNow)); res.status != http.StatusUnauthorized {
			t.Fatalf("replay: status %d, want 401", res.status)
		}
		if n := len(f.p.inputs()); n != 1 {
			t.Fatalf("the Provisioner was called %d times, want once", n)
		}
	})
}

// TestSlackCommands: what a command becomes, and what the bot answers.
func TestSlackCommands(t *testing.T) {
	wantIdentity := request.Identity{Source: "slack:T024BE7LD", EventID: "13345224609.738474920.8088930838d88f008e0", Subject: "U2147483697"}
	tests := []struct {
		name   string
		text   string
		answer func(context.Context, []provision.Input) ([]provision.Result, error)
		// data is the request the Provisioner must see; nil: not called.
		data   map[string]any
		dryRun bool
		says   []string
	}{
		{
			name: "create, accepted",
			text: `create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10 name=dev-gw tag.owner="Net Ops"`,
			data: map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1x", "Bandwidth": 10.0, "Name": "dev-gw",
				"Tags": []any{map[string]any{"Key": "owner", "Value": "Net Ops"}}},
			says: []string{"vpn-bp1test0", "being created", wantIdentity.EventID},
		},
		{
			name: "Slack's escaping undone on the way in",
			text: "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10 tag.team=a&amp;b",
			data: map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1x", "Bandwidth": 10.0,
				"Tags": []any{map[string]any{"Key": "team", "Value": "a&b"}}},
			says: []string{"vpn-bp1test0"},
		},
		{
			name: "check is a dry run",
			text: "check region=cn-hangzhou vpc=vpc-bp1x bandwidth=10",
			answer: func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
				return []provision.Result{{EventID: in[0].Identity.EventID, State: store.DryRun}}, nil
			},
			data: map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1x", "Bandwidth": 10.0}, dryRun: true,
			says: []string{"passes validation", "Nothing was created"},
		},
		{
			name: "every validation error, one per line",
			text: "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=7 charge=PREPAY",
			answer: func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
				return []provision.Result{{EventID: in[0].Identity.EventID, State: store.Failed, Code: events.CodeInvalidRequest, Errors: []events.FieldError{
					{Field: "Bandwidth", Message: "Bandwidth 7 Mbit/s is not offered; choose 5, 10, 20"},
					{Field: "Period", Message: "Period is required with InstanceChargeType PREPAY"},
				}}}, nil
			},
			data: map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1x", "Bandwidth": 7.0, "InstanceChargeType": "PREPAY"},
			says: []string{"refused (InvalidRequest):\n• Bandwidth 7 Mbit/s is not offered; choose 5, 10, 20\n• Period is required"},
		},
		{
			name: "refused by the API",
			text: "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10",
			answer: func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
				return []provision.Result{{EventID: in[0].Identity.EventID, State: store.Failed, Code: "Resource.QuotaFull", Message: "the quota of VPN gateways is full"}}, nil
			},
			data: map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1x", "Bandwidth": 10.0},
			says: []string{"refused (Resource.QuotaFull): the quota of VPN gateways is full"},
		},
		{
			name: "store down before anything was recorded",
			text: "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10",
			answer: func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
				return []provision.Result{{EventID: in[0].Identity.EventID, Retry: true}}, errors.New("record request: connection refused")
			},
			data: map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1x", "Bandwidth": 10.0},
			says: []string{"could not be confirmed", "wait for its outcome"},
		},
		{
			name: "help",
			text: "help",
			// Escaped, so that Slack shows the placeholders instead of
			// reading them as links.
			says: []string{"create region=&lt;RegionId&gt; vpc=&lt;VpcId&gt;", "tag.&lt;key&gt;=&lt;value&gt;"},
		},
		{
			name: "a typo and a bad number, both reported, nothing requested",
			text: "create regoin=cn-hangzhou vpc=vpc-bp1x bandwidth=ten",
			says: []string{`unknown key "regoin" (did you mean region?)`, "bandwidth=ten: want a whole number", "Send help"},
		},
		{
			name: "what the user typed is echoed as text, not markup",
			text: "create &lt;!channel&gt;",
			says: []string{`"&lt;!channel&gt;" is not key=value`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, defaultConfig(), &recorder{answer: tc.answer})
			text := slackText(t, f.do(signedSlack(slackForm(tc.text), testNow)))
			for _, s := range tc.says {
				if !strings.Contains(text, s) {
					t.Errorf("answer %q does not say %q", text, s)
				}
			}
			calls := f.p.inputs()
			if tc.data == nil {
				if len(calls) != 0 {
					t.Fatalf("the Provisioner was called: %+v", calls)
				}
				return
			}
			if len(calls) != 1 || len(calls[0]) != 1 {
				t.Fatalf("Provisioner calls %+v, want one with one input", calls)
			}
			in := calls[0][0]
			if in.Identity != wantIdentity || in.Type != events.TypeRequested || in.Caller != webhook.CallerSlack ||
				in.ChatUser != "U2147483697" || in.DryRun != tc.dryRun {
				t.Errorf("input %+v", in)
			}
			var data map[string]any
			if err := json.Unmarshal(in.Data, &data); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(data, tc.data) {
				t.Errorf("data %s, want %v", in.Data, tc.data)
			}
		})
	}
}

// TestSlackDeadline: a Provisioner slower than Slack waits is cut off at
// ChatTimeout, and the user learns the request goes on.
func TestSlackDeadline(t *testing.T) {
	cfg := defaultConfig()
	cfg.ChatTimeout = 50 * time.Millisecond
	var sawDeadline bool
	slow := func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
		_, sawDeadline = ctx.Deadline()
		<-ctx.Done()
		return []provision.Result{{EventID: in[0].Identity.EventID, State: store.Received, Retry: true}}, fmt.Errorf("create gateway: %w", ctx.Err())
	}
	f := newFixture(t, cfg, &recorder{answer: slow})
	start := time.Now()
	text := slackText(t, f.do(signedSlack(slackForm("create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10"), testNow)))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %s", took)
	}
	if !sawDeadline || !strings.Contains(text, "recorded") {
		t.Errorf("deadline seen %v; answer %q", sawDeadline, text)
	}
}

// notACommand is a signed request that carries no command, and the
// status it is answered with.
type notACommand struct {
	name, body, ct string
	status         int
}

// assertNotCommands signs each body with signed, sends it with its content
// type to a handler of its own, and wants its status and nothing recorded.
func assertNotCommands(t *testing.T, signed func(body string, at time.Time) *http.Request, tests []notACommand) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, defaultConfig(), nil)
			req := signed(tc.body, testNow)
			req.Header.Set("Content-Type", tc.ct)
			if res := f.do(req); res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			f.assertNothingRecorded(t)
		})
	}
}

func TestSlackNotACommand(t *testing.T) {
	assertNotCommands(t, signedSlack, []notACommand{
		{"JSON body", `{"text":"create"}`, "application/json", http.StatusUnsupportedMediaType},
		{"no trigger_id", "team_id=T1&user_id=U1&text=help", "application/x-www-form-urlencoded", http.StatusBadRequest},
		{"malformed form", "team_id=%zz", "application/x-www-form-urlencoded", http.StatusBadRequest},
		{"certificate check", "ssl_check=1&token=x", "application/x-www-form-urlencoded", http.StatusOK},
	})
}

func dingTalkBody(msgID, staffID, content string) string {
	m := map[string]any{
		"msgtype": "text", "text": map[string]string{"content": content}, "msgId": msgID,
		"createAt": 1700000000000, "conversationType": "2", "conversationId": "cidHZjqLRmEg9pS3Fy5CKqjRg==",
		"conversationTitle": "netops", "senderId": "$:LWCP_v1:$abc", "senderNick": "Zhang San", "senderCorpId": "ding123",
		"sessionWebhook": "https://oapi.example.com/robot/sendBySession?session=x", "sessionWebhookExpiredTime": 1700000000000,
		"isAdmin": false, "chatbotCorpId": "ding123", "isInAtList": true, "chatbotUserId": "$:LWCP_v1:$bot",
	}
	if staffID != "" {
		m["senderStaffId"] = staffID
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func dingTalkRequest(body, ts, sign string) *http.Request {
	return chatRequest("/dingtalk", "application/json; charset=utf-8", body, "timestamp", ts, "sign", sign)
}

func signedDingTalk(body string, at time.Time) *http.Request {
	ts := unixMilli(at)
	return dingTalkRequest(body, ts, dingTalkSign(testDingTalkSecret, ts))
}

// decodeAnswer wants res to be a 200 and decodes its body, JSON, into v.
func decodeAnswer(t *testing.T, res result, v any) error {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", res.status, res.body)
	}
	return json.Unmarshal(res.body, v)
}

// dingTalkText is the text of a message's answer, which must be 200 and
// a text message.
func dingTalkText(t *testing.T, res result) string {
	t.Helper()
	var a struct {
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if err := decodeAnswer(t, res, &a); err != nil || a.MsgType != "text" {
		t.Fatalf("answer %s is not a text message: %v", res.body, err)
	}
	return a.Text.Content
}

func TestDingTalkAuth(t *testing.T) {
	body := dingTalkBody("msgA", "manager4711", " create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10")
	ts := unixMilli(testNow)
	good := dingTalkSign(testDingTalkSecret, ts)
	tests := []refusal{
		{"bad sign", func() *http.Request { return dingTalkRequest(body, ts, dingTalkSign(testDingTalkSecret, ts+"0")) }},
		{"wrong secret", func() *http.Request { return dingTalkRequest(body, ts, dingTalkSign("SECanother", ts)) }},
		{"sign of another timestamp", func() *http.Request { return dingTalkRequest(body, unixMilli(testNow.Add(time.Millisecond)), good) }},
		{"stale", func() *http.Request {
			return signedDingTalk(body, testNow.Add(-webhook.DefaultMaxSkew-time.Millisecond))
		}},
		{"future", func() *http.Request {
			return signedDingTalk(body, testNow.Add(webhook.DefaultMaxSkew+time.Millisecond))
		}},
		{"seconds instead of milliseconds", func() *http.Request {
			s := unix(testNow)
			return dingTalkRequest(body, s, dingTalkSign(testDingTalkSecret, s))
		}},
		{"missing timestamp", func() *http.Request { return dingTalkRequest(body, "", good) }},
		{"missing sign", func() *http.Request { return dingTalkRequest(body, ts, "") }},
		{"sign not base64", func() *http.Request { return dingTalkRequest(body, ts, "%%%") }},
		{"URL-encoded sign", func() *http.Request { return dingTalkRequest(body, ts, url.QueryEscape(good)+"%00") }},
	}
	assertRefused(t, tests)
	// DingTalk's sign does not cover the body: the guard is what stops a
	// captured pair of headers from carrying a second, forged message.
	t.Run("headers reused with another body", func(t *testing.T) {
		f := newFixture(t, defaultConfig(), nil)
		dingTalkText(t, f.do(dingTalkRequest(body, ts, good)))
		forged := dingTalkBody("msgB", "attacker", "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=1000")
		if res := f.do(dingTalkRequest(forged, ts, good)); res.status != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", res.status)
		}
		if calls := f.p.inputs(); len(calls) != 1 || calls[0][0].Identity.EventID != "msgA" {
			t.Fatalf("Provisioner calls %+v, want only msgA", calls)
		}
	})
}

func TestDingTalkCommands(t *testing.T) {
	t.Run("create, staff id", func(t *testing.T) {
		f := newFixture(t, defaultConfig(), nil)
		text := dingTalkText(t, f.do(signedDingTalk(dingTalkBody("msgA", "manager4711", " create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10 ssl=20"), testNow)))
		if !strings.Contains(text, "vpn-bp1test0") {
			t.Errorf("answer %q does not name the gateway", text)
		}
		calls := f.p.inputs()
		if len(calls) != 1 {
			t.Fatalf("calls %+v", calls)
		}
		in := calls[0][0]
		want := request.Identity{Source: "dingtalk:cidHZjqLRmEg9pS3Fy5CKqjRg==", EventID: "msgA", Subject: "manager4711"}
		if in.Identity != want || in.Caller != webhook.CallerDingTalk || in.ChatUser != "manager4711" {
			t.Errorf("input %+v", in)
		}
		if string(in.Data) != `{"Bandwidth":10,"EnableSsl":true,"RegionId":"cn-hangzhou","SslConnections":20,"VpcId":"vpc-bp1x"}` {
			t.Errorf("data %s", in.Data)
		}
	})
	t.Run("sender id when there is no staff id", func(t *testing.T) {
		f := newFixture(t, defaultConfig(), nil)
		dingTalkText(t, f.do(signedDingTalk(dingTalkBody("msgA", "", "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10"), testNow)))
		if in := f.p.inputs()[0][0]; in.ChatUser != "sender:$:LWCP_v1:$abc" {
			t.Errorf("chat user %q, want the sender id apart from staff ids (sender:...)", in.ChatUser)
		}
	})
	t.Run("a staff id spelled as a sender is refused", func(t *testing.T) {
		f := newFixture(t, defaultConfig(), nil)
		if rec := f.do(signedDingTalk(dingTalkBody("msgB", "sender:x", "status"), testNow)); rec.status != http.StatusBadRequest || !strings.Contains(string(rec.body), "senderStaffId") {
			t.Errorf("status %d: %s, want 400 naming senderStaffId", rec.status, rec.body)
		}
	})
	t.Run("help, with the bot's mention", func(t *testing.T) {
		f := newFixture(t, defaultConfig(), nil)
		text := dingTalkText(t, f.do(signedDingTalk(dingTalkBody("msgA", "m1", "@vpngw help"), testNow)))
		if text != webhook.HelpText {
			t.Errorf("answer %q, want the help", text)
		}
		f.assertNothingRecorded(t)
	})
	t.Run("a picture", func(t *testing.T) {
		f := newFixture(t, defaultConfig(), nil)
		body := strings.Replace(dingTalkBody("msgA", "m1", ""), `"msgtype":"text"`, `"msgtype":"picture"`, 1)
		if text := dingTalkText(t, f.do(signedDingTalk(body, testNow))); !strings.Contains(text, "as text") {
			t.Errorf("answer %q", text)
		}
		f.assertNothingRecorded(t)
	})
	assertNotCommands(t, signedDingTalk, []notACommand{
		{"form body", "text=help", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"not JSON", "{", "application/json", http.StatusBadRequest},
		{"no msgId", dingTalkBody("", "m1", "help"), "application/json", http.StatusBadRequest},
	})
}

// A DingTalk timestamp in seconds, not milliseconds, is refused saying so,
// not that it is hundreds of thousands of hours old.
func TestDingTalkTimestampInSecondsSaysMilliseconds(t *testing.T) {
	body := dingTalkBody("msgS", "manager4711", "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10")
	s := unix(testNow)
	f := newFixture(t, defaultConfig(), nil)
	res := f.do(dingTalkRequest(body, s, dingTalkSign(testDingTalkSecret, s)))
	if res.status != http.StatusUnauthorized || !strings.Contains(string(res.body), "in seconds; DingTalk's is in milliseconds") || strings.Contains(string(res.body), "h old") {
		t.Fatalf("status %d %s, want 401 saying the timestamp must be in milliseconds", res.status, res.body)
	}
	f.assertNothingRecorded(t)
}
