package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/chatreply"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

type savedReplies struct {
	mu sync.Mutex
	rs []store.ChatReply
}

func (s *savedReplies) SaveChatReply(_ context.Context, r store.ChatReply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rs = append(s.rs, r)
	return nil
}

// A chat command that makes a request keeps the reply address the platform
// signed, for that request, when it is on an allowed host; one elsewhere,
// and a command that makes no request, keep none.
func TestChatCommandKeepsItsReplyAddress(t *testing.T) {
	saved := &savedReplies{}
	h, err := webhook.New(defaultConfig(), &recorder{}, newGuard(func() time.Time { return testNow }),
		webhook.WithClock(func() time.Time { return testNow }),
		webhook.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		webhook.WithChatReplies(saved, chatreply.NewAllow(nil).Allowed))
	if err != nil {
		t.Fatal(err)
	}
	slack := func(text, responseURL string) {
		v, _ := url.ParseQuery(slackForm(text))
		v.Set("response_url", responseURL)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signedSlack(v.Encode(), testNow))
		if w.Code != 200 {
			t.Fatalf("/slack: %d %s", w.Code, w.Body)
		}
	}
	const create = "check region=cn-hangzhou vpc=vpc-bp1vpngwdemo0000001 bandwidth=10 vswitch=vsw-1 charge=POSTPAY"
	slack(create, "https://hooks.example.com/commands/1234/5678")
	slack("help", "https://hooks.slack.com/commands/T024BE7LD/1/help")
	slack(create, "https://hooks.slack.com/commands/T024BE7LD/1/abc")

	var m map[string]any
	if err := json.Unmarshal([]byte(dingTalkBody("msg-reply-1", "staff-1", create)), &m); err != nil {
		t.Fatal(err)
	}
	m["sessionWebhook"] = "https://oapi.dingtalk.com/robot/sendBySession?session=abc"
	m["sessionWebhookExpiredTime"] = testNow.Add(90 * time.Minute).UnixMilli()
	b, _ := json.Marshal(m)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signedDingTalk(string(b), testNow))
	if w.Code != 200 {
		t.Fatalf("/dingtalk: %d %s", w.Code, w.Body)
	}

	if len(saved.rs) != 2 {
		t.Fatalf("saved %+v, want the allowed Slack address and the DingTalk one", saved.rs)
	}
	s, d := saved.rs[0], saved.rs[1]
	wantKey := request.Identity{Source: webhook.SourcePrefixSlack + "T024BE7LD", EventID: "13345224609.738474920.8088930838d88f008e0"}.Key()
	if s.Platform != store.PlatformSlack || !strings.HasSuffix(s.URL, "/abc") || s.Channel != "C2147483705" || s.RequestKey != wantKey ||
		!s.ExpiresAt.Equal(testNow.Add(30*time.Minute)) {
		t.Errorf("Slack reply: %+v (want key %s)", s, wantKey)
	}
	if d.Platform != store.PlatformDingTalk || !strings.HasSuffix(d.URL, "session=abc") || d.Channel != "cidHZjqLRmEg9pS3Fy5CKqjRg==" ||
		!d.ExpiresAt.Equal(testNow.Add(90*time.Minute).Truncate(time.Millisecond)) {
		t.Errorf("DingTalk reply: %+v", d)
	}
}
