package chatreply_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/chatreply"
	"github.com/vpngw/vpngw/internal/chatsim"
	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// replies keeps reply addresses as the store does.
type replies struct {
	mu sync.Mutex
	m  map[string]store.ChatReply
}

func (r *replies) ChatReply(_ context.Context, key string) (store.ChatReply, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.m[key]
	return c, ok, nil
}

func (r *replies) NoteChatReply(_ context.Context, key string, uses int, threadTS string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.m[key]
	c.Uses = max(c.Uses+1, uses)
	if c.ThreadTS == "" {
		c.ThreadTS = threadTS
	}
	r.m[key] = c
	return nil
}

// outcome is an outcome event of request key, as the outbox holds it.
func outcome(t *testing.T, key, typ string, data any) outgoing.Event {
	t.Helper()
	body, err := json.Marshal(map[string]any{"specversion": "1.0", "id": typ + "-" + key, "type": typ, "time": time.Now().UTC(), "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return outgoing.Event{ID: typ + "-" + key, Type: typ, Body: body, Key: key}
}

func active(t *testing.T, key, gw string) outgoing.Event {
	return outcome(t, key, events.TypeActive, events.Active{Request: events.RequestRef{EventID: "trig-" + key}, VpnGatewayId: gw,
		RegionId: "cn-hangzhou", VpcId: "vpc-1", Bandwidth: 10, InternetIp: "47.0.0.1"})
}

// A response_url takes five posts; the sixth outcome goes through
// chat.postMessage into the channel, and the one after threads under it.
func TestSlackResponseURLThenBot(t *testing.T) {
	slack := chatsim.NewSlack(nil)
	defer slack.Close()
	st := &replies{m: map[string]store.ChatReply{"k": {RequestKey: "k", Platform: store.PlatformSlack, URL: slack.ResponseURL(),
		ExpiresAt: time.Now().Add(30 * time.Minute), Channel: "C1", CreatedAt: time.Now()}}}
	p := chatreply.New(st, chatreply.Config{Allow: chatreply.NewAllow([]string{slack.URL}), SlackReply: chatreply.SlackInChannel,
		SlackBotToken: slack.Token, SlackAPIURL: slack.APIURL()})
	for i := range 7 {
		if err := p.Publish(context.Background(), active(t, "k", "vpn-"+string(rune('a'+i)))); err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
	}
	posts := slack.Posts()
	if len(posts) != 7 {
		t.Fatalf("%d posts, want 7: %+v", len(posts), posts)
	}
	for i, p := range posts[:5] {
		if !strings.HasPrefix(p.Path, "/commands/") || p.ResponseType != "in_channel" {
			t.Errorf("post %d went to %s as %q, want the response_url, in_channel", i+1, p.Path, p.ResponseType)
		}
	}
	if posts[5].Path != "/api/chat.postMessage" || posts[5].Channel != "C1" || posts[5].ThreadTS != "" {
		t.Errorf("post 6: %+v, want chat.postMessage into C1", posts[5])
	}
	if posts[6].Path != "/api/chat.postMessage" || posts[6].ThreadTS == "" {
		t.Errorf("post 7: %+v, want threaded under post 6", posts[6])
	}
}

// A 429 is retried after its Retry-After, and the post is then made once.
func TestSlackThrottleIsRetriedAfterRetryAfter(t *testing.T) {
	slack := chatsim.NewSlack(nil)
	defer slack.Close()
	st := &replies{m: map[string]store.ChatReply{"k": {RequestKey: "k", Platform: store.PlatformSlack, URL: slack.ResponseURL(),
		ExpiresAt: time.Now().Add(30 * time.Minute), CreatedAt: time.Now()}}}
	now := time.Now()
	p := chatreply.New(st, chatreply.Config{Allow: chatreply.NewAllow([]string{slack.URL}), Now: func() time.Time { return now }})
	slack.Throttle(1)
	err := p.Publish(context.Background(), active(t, "k", "vpn-1"))
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() != time.Second || errors.Is(err, outbox.ErrRefused) || !errors.Is(err, outbox.ErrDeferred) {
		t.Fatalf("throttled post: %v, want a retry after 1s, deferred", err)
	}
	now = now.Add(time.Second)
	if err := p.Publish(context.Background(), active(t, "k", "vpn-1")); err != nil {
		t.Fatal(err)
	}
	if n := len(slack.Posts()); n != 1 {
		t.Fatalf("%d posts, want 1", n)
	}
}

// While one conversation waits out its 429, its later replies are held
// back without calling Slack, in order, and another conversation's reply
// is posted at once.
func TestThrottledConversationHoldsBackOnlyItself(t *testing.T) {
	slack := chatsim.NewSlack(nil)
	defer slack.Close()
	st := &replies{m: map[string]store.ChatReply{
		"a": {RequestKey: "a", Platform: store.PlatformSlack, URL: slack.ResponseURL(), Channel: "CA", ExpiresAt: time.Now().Add(30 * time.Minute), CreatedAt: time.Now()},
		"b": {RequestKey: "b", Platform: store.PlatformSlack, URL: slack.ResponseURL(), Channel: "CB", ExpiresAt: time.Now().Add(30 * time.Minute), CreatedAt: time.Now()},
	}}
	now := time.Now()
	p := chatreply.New(st, chatreply.Config{Allow: chatreply.NewAllow([]string{slack.URL}), Now: func() time.Time { return now }})
	slack.Throttle(1)
	if err := p.Publish(context.Background(), active(t, "a", "vpn-a1")); !errors.Is(err, outbox.ErrDeferred) {
		t.Fatalf("throttled post: %v, want deferred", err)
	}
	if err := p.Publish(context.Background(), active(t, "a", "vpn-a2")); !errors.Is(err, outbox.ErrDeferred) {
		t.Fatalf("a's next reply while a waits: %v, want deferred", err)
	}
	if err := p.Publish(context.Background(), active(t, "b", "vpn-b1")); err != nil {
		t.Fatalf("b's reply while a waits: %v", err)
	}
	if posts := slack.Posts(); len(posts) != 1 || !strings.Contains(posts[0].Text, "vpn-b1") {
		t.Fatalf("posts while a waits: %+v, want b's alone", posts)
	}
	now = now.Add(time.Second)
	for _, gw := range []string{"vpn-a1", "vpn-a2"} {
		if err := p.Publish(context.Background(), active(t, "a", gw)); err != nil {
			t.Fatalf("a's reply %s after the wait: %v", gw, err)
		}
	}
	if posts := slack.Posts(); len(posts) != 3 || !strings.Contains(posts[1].Text, "vpn-a1") || !strings.Contains(posts[2].Text, "vpn-a2") {
		t.Fatalf("posts: %+v, want b's, then a's two in order", posts)
	}
}

// Past the response_url's window with no bot token, the reply is refused
// for good (parked), not retried for ever.
func TestSlackSpentWithoutBotIsRefused(t *testing.T) {
	slack := chatsim.NewSlack(nil)
	defer slack.Close()
	st := &replies{m: map[string]store.ChatReply{"k": {RequestKey: "k", Platform: store.PlatformSlack, URL: slack.ResponseURL(),
		ExpiresAt: time.Now().Add(-time.Minute), Channel: "C1", CreatedAt: time.Now().Add(-31 * time.Minute)}}}
	p := chatreply.New(st, chatreply.Config{Allow: chatreply.NewAllow([]string{slack.URL})})
	if err := p.Publish(context.Background(), active(t, "k", "vpn-1")); !errors.Is(err, outbox.ErrRefused) {
		t.Fatalf("post past the window: %v, want refused", err)
	}
	if n := len(slack.Posts()); n != 0 {
		t.Fatalf("%d posts, want none", n)
	}
}

// A reply address on a host nobody allowed is never called, even when it
// reached the store.
func TestReplyAddressNotAllowedIsNotCalled(t *testing.T) {
	var hits atomic.Int32
	forged := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer forged.Close()
	for _, platform := range []string{store.PlatformSlack, store.PlatformDingTalk} {
		st := &replies{m: map[string]store.ChatReply{"k": {RequestKey: "k", Platform: platform, URL: forged.URL + "/commands/x",
			ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}}}
		p := chatreply.New(st, chatreply.Config{Allow: chatreply.NewAllow([]string{"http://127.0.0.1:1/"})})
		if err := p.Publish(context.Background(), active(t, "k", "vpn-1")); !errors.Is(err, outbox.ErrRefused) {
			t.Errorf("%s: %v, want refused", platform, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the forged address was called %d times", n)
	}
}

// An allowed reply address that redirects elsewhere does not take the post
// there: the host check holds for every hop, so a redirect is not followed.
func TestReplyIsNotRedirectedPastTheAllowList(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/stolen", http.StatusTemporaryRedirect)
	}))
	defer allowed.Close()
	for _, platform := range []string{store.PlatformSlack, store.PlatformDingTalk} {
		st := &replies{m: map[string]store.ChatReply{"k": {RequestKey: "k", Platform: platform, URL: allowed.URL + "/commands/x",
			ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}}}
		p := chatreply.New(st, chatreply.Config{Allow: chatreply.NewAllow([]string{allowed.URL})})
		if err := p.Publish(context.Background(), active(t, "k", "vpn-1")); err == nil {
			t.Errorf("%s: a redirect answered as delivered", platform)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect's target was called %d times", n)
	}
}

// DingTalk: markdown through the sessionWebhook until it expires, then the
// custom robot, signed as DingTalk checks; a wrong robot secret is refused.
func TestDingTalkSessionThenSignedRobot(t *testing.T) {
	ding := chatsim.NewDingTalk(nil)
	defer ding.Close()
	hook, exp := ding.SessionWebhook(time.Hour)
	st := &replies{m: map[string]store.ChatReply{
		"live":    {RequestKey: "live", Platform: store.PlatformDingTalk, URL: hook, ExpiresAt: time.UnixMilli(exp), CreatedAt: time.Now()},
		"expired": {RequestKey: "expired", Platform: store.PlatformDingTalk, URL: hook, ExpiresAt: time.Now().Add(-time.Second), CreatedAt: time.Now()},
	}}
	cfg := chatreply.Config{Allow: chatreply.NewAllow([]string{ding.URL}), DingTalkRobotWebhook: ding.RobotWebhook(), DingTalkRobotSecret: ding.Secret}
	p := chatreply.New(st, cfg)
	if err := p.Publish(context.Background(), active(t, "live", "vpn-live")); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), outcome(t, "expired", events.TypeFailed, events.Failed{Request: events.RequestRef{EventID: "m2"},
		Stage: events.StagePolicy, Code: events.CodePolicyDenied, Message: "no rule allows it"})); err != nil {
		t.Fatal(err)
	}
	posts := ding.Posts()
	if len(posts) != 2 || posts[0].Path != "/robot/sendBySession" || !strings.Contains(posts[0].Text, "vpn-live is active") ||
		posts[1].Path != "/robot/send" || !strings.Contains(posts[1].Text, "PolicyDenied") || !strings.Contains(posts[1].Text, "What to do") {
		t.Fatalf("posts: %+v", posts)
	}
	cfg.DingTalkRobotSecret = "SECwrong"
	if err := chatreply.New(st, cfg).Publish(context.Background(), active(t, "expired", "vpn-x")); !errors.Is(err, outbox.ErrRefused) {
		t.Fatalf("robot post signed with a wrong secret: %v, want refused", err)
	}
}

// Only the platforms' hosts and the operator's prefixes are allowed, and
// a prefix never lets a longer host name or a sibling path through.
func TestAllow(t *testing.T) {
	a := chatreply.NewAllow([]string{"http://127.0.0.1:8080/slack"})
	for u, want := range map[string]bool{
		"https://hooks.slack.com/commands/T1/2/x":           true,
		"https://hooks.slack.com.evil.example/commands/T1":  false,
		"http://hooks.slack.com/commands/T1":                false,
		"https://user@hooks.slack.com/commands/T1":          false,
		"https://oapi.dingtalk.com/robot/sendBySession?s=1": true,
		"https://api.dingtalk.com/v1.0/robot/x":             true,
		"http://127.0.0.1:8080/slack/commands/1":            true,
		"http://127.0.0.1:8080/slackers/1":                  false,
		"http://127.0.0.1:8081/slack/commands/1":            false,
		"http://127.0.0.1:8080/slack/../admin":              false,
		"https://example.com/commands/T1":                   false,
		"not a url":                                         false,
	} {
		if got := a.Allowed(u); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", u, got, want)
		}
	}
}
