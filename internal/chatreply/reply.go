package chatreply

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// Slack's limits of a response_url.
const (
	SlackResponseUses   = 5
	SlackResponseWindow = 30 * time.Minute
)

// DefaultSlackAPIURL is the Slack Web API base.
const DefaultSlackAPIURL = "https://slack.com/api/"

// Slack reply visibilities (VPNGW_SLACK_REPLY).
const (
	SlackEphemeral = "ephemeral"
	SlackInChannel = "in_channel"
)

// SinkName names the chat destination in the store's delivery rows.
const SinkName = "chat"

// defaultRetryAfter is the wait after a 429 or a 5xx that named none.
const defaultRetryAfter = 10 * time.Second

// Store is what replies need of the store.
type Store interface {
	ChatReply(ctx context.Context, key string) (store.ChatReply, bool, error)
	NoteChatReply(ctx context.Context, key string, uses int, threadTS string) error
}

// Config configures the replies.
type Config struct {
	Allow Allow
	// SlackReply is SlackEphemeral or SlackInChannel (VPNGW_SLACK_REPLY).
	SlackReply string
	// SlackBotToken posts with chat.postMessage once a response_url is
	// spent (VPNGW_SLACK_BOT_TOKEN); without it, such replies are parked.
	SlackBotToken string
	// SlackAPIURL is the Web API base (VPNGW_SLACK_API_URL).
	SlackAPIURL string
	// DingTalkRobotWebhook and DingTalkRobotSecret post once a
	// sessionWebhook expired (VPNGW_DINGTALK_ROBOT_WEBHOOK, _SECRET).
	DingTalkRobotWebhook, DingTalkRobotSecret string
	Client                                    *http.Client
	Now                                       func() time.Time
}

// Publisher is the chat destination of the outbox drain: it posts each
// outcome of a chat request to the request's conversation, and takes every
// other event as delivered.
type Publisher struct {
	st  Store
	cfg Config

	mu sync.Mutex
	// waits holds, per conversation, when the platform lets it be posted to
	// again after a 429 or a 5xx: its replies wait, in order, while other
	// conversations' go on.
	waits map[string]time.Time
}

// deferredError is a reply held back because its conversation asked to be
// left alone: the drain leaves it unsent and goes on with other events.
type deferredError struct{ err error }

func (e *deferredError) Error() string { return e.err.Error() }
func (e *deferredError) Is(target error) bool {
	return target == outbox.ErrDeferred
}
func (e *deferredError) Unwrap() error { return e.err }

// conversation keys a reply's conversation: the channel (Slack's
// channel_id, DingTalk's conversationId), else the reply address.
func conversation(r store.ChatReply) string {
	if r.Channel != "" {
		return r.Platform + "\x00" + r.Channel
	}
	return r.Platform + "\x00" + r.URL
}

// New builds the chat destination.
func New(st Store, cfg Config) *Publisher {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	// A redirect is never followed: the allow-list is checked on the
	// address vpngw posts to, and a hop would take the post (and any token
	// in it) past that check. The answer is the 3xx itself.
	c := *cfg.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.Client = &c
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SlackAPIURL == "" {
		cfg.SlackAPIURL = DefaultSlackAPIURL
	}
	if !strings.HasSuffix(cfg.SlackAPIURL, "/") {
		cfg.SlackAPIURL += "/"
	}
	if cfg.SlackReply == "" {
		cfg.SlackReply = SlackEphemeral
	}
	return &Publisher{st: st, cfg: cfg, waits: map[string]time.Time{}}
}

// retryError is a failure worth retrying later, after at least the wait the
// platform asked for; the drain reads RetryAfter.
type retryError struct {
	err   error
	after time.Duration
	// unreached: the platform did not answer at all (not a 429 or 5xx of
	// one conversation), so every conversation would fail alike.
	unreached bool
}

func (e *retryError) Error() string             { return e.err.Error() }
func (e *retryError) Unwrap() error             { return e.err }
func (e *retryError) RetryAfter() time.Duration { return e.after }

// refused is a reply the platform will never take: the drain parks it.
func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", outbox.ErrRefused, fmt.Sprintf(format, a...))
}

// Publish implements outbox.Publisher: an event of a request no chat made,
// or no outcome of one request, is outbox.ErrNotAddressed.
func (p *Publisher) Publish(ctx context.Context, e outgoing.Event) error {
	if e.Key == "" {
		return outbox.ErrNotAddressed
	}
	r, ok, err := p.st.ChatReply(ctx, e.Key)
	if err != nil {
		return err
	}
	if !ok {
		return outbox.ErrNotAddressed
	}
	return p.publish(ctx, e, r)
}

// PublishStored implements outbox.StoredPublisher: the reply address the
// outbox read brought with the event is posted to as Publish would post to
// the one it reads, and an event whose read brought none is read for as
// Publish does.
func (p *Publisher) PublishStored(ctx context.Context, e store.Event) error {
	if !e.ReplyRead {
		return p.Publish(ctx, e.Event)
	}
	if e.Event.Key == "" || e.Reply == nil {
		return outbox.ErrNotAddressed
	}
	return p.publish(ctx, e.Event, *e.Reply)
}

// publish posts the outcome e to r, its request's conversation.
func (p *Publisher) publish(ctx context.Context, e outgoing.Event, r store.ChatReply) error {
	m, ok, err := render(e.Body, r.CreatedAt)
	if err != nil {
		return refused("%v", err)
	}
	if !ok {
		return outbox.ErrNotAddressed
	}
	conv := conversation(r)
	p.mu.Lock()
	until, waiting := p.waits[conv]
	p.mu.Unlock()
	if now := p.cfg.Now(); waiting && now.Before(until) {
		return &deferredError{fmt.Errorf("the conversation asked to wait until %s", until.UTC().Format(time.RFC3339))}
	}
	switch r.Platform {
	case store.PlatformSlack:
		err = p.slack(ctx, r, m)
	case store.PlatformDingTalk:
		err = p.dingTalk(ctx, r, m)
	default:
		return refused("chat platform %q unknown", r.Platform)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var re *retryError
	if errors.As(err, &re) && !re.unreached {
		p.waits[conv] = p.cfg.Now().Add(re.after)
		return &deferredError{err}
	}
	delete(p.waits, conv)
	return err
}

// slackMessage is a response_url post and a chat.postMessage body: Block
// Kit, with text as the fallback notifications show.
type slackMessage struct {
	Channel         string       `json:"channel,omitempty"`
	ThreadTS        string       `json:"thread_ts,omitempty"`
	ResponseType    string       `json:"response_type,omitempty"`
	ReplaceOriginal *bool        `json:"replace_original,omitempty"`
	Text            string       `json:"text"`
	Blocks          []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type string     `json:"type"`
	Text *slackText `json:"text,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func slackBody(m message) slackMessage {
	blocks := []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: "*" + slackEscape(m.title) + "*"}}}
	if len(m.lines) > 0 {
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: slackEscape(strings.Join(m.lines, "\n"))}})
	}
	return slackMessage{Text: slackEscape(m.text()), Blocks: blocks}
}

// slackEscape escapes what Slack reads as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (p *Publisher) slack(ctx context.Context, r store.ChatReply, m message) error {
	body := slackBody(m)
	now := p.cfg.Now()
	if r.Uses < SlackResponseUses && now.Before(r.ExpiresAt) && p.cfg.Allow.Allowed(r.URL) {
		no := false
		body.ResponseType, body.ReplaceOriginal = p.cfg.SlackReply, &no
		status, ra, text, err := p.post(ctx, r.URL, body, nil)
		if err != nil {
			return err
		}
		switch {
		case status/100 == 2:
			return p.st.NoteChatReply(ctx, r.RequestKey, r.Uses+1, r.ThreadTS)
		case status == http.StatusTooManyRequests || status/100 == 5:
			return &retryError{fmt.Errorf("slack response_url: %d %s", status, text), ra, false}
		}
		// Used up or expired (404 used_url, expired_url) or refused: the
		// bot posts instead, if there is one.
		if err := p.st.NoteChatReply(ctx, r.RequestKey, SlackResponseUses, r.ThreadTS); err != nil {
			return err
		}
		if p.cfg.SlackBotToken == "" {
			return refused("slack response_url answered %d %s, and VPNGW_SLACK_BOT_TOKEN is not set to post otherwise", status, text)
		}
	}
	if p.cfg.SlackBotToken == "" {
		return refused("the response_url of the command is spent (%d uses, or past 30 minutes), and VPNGW_SLACK_BOT_TOKEN is not set to post otherwise", r.Uses)
	}
	if r.Channel == "" {
		return refused("the command named no channel to post in")
	}
	body.ResponseType, body.ReplaceOriginal = "", nil
	body.Channel, body.ThreadTS = r.Channel, r.ThreadTS
	status, ra, text, err := p.post(ctx, p.cfg.SlackAPIURL+"chat.postMessage", body, http.Header{"Authorization": {"Bearer " + p.cfg.SlackBotToken}})
	if err != nil {
		return err
	}
	if status == http.StatusTooManyRequests || status/100 == 5 {
		return &retryError{fmt.Errorf("slack chat.postMessage: %d %s", status, text), ra, false}
	}
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		TS    string `json:"ts"`
	}
	if status/100 != 2 || json.Unmarshal([]byte(text), &res) != nil {
		return refused("slack chat.postMessage: %d %s", status, text)
	}
	switch {
	case res.OK:
		if r.ThreadTS == "" && res.TS != "" {
			return p.st.NoteChatReply(ctx, r.RequestKey, max(r.Uses, SlackResponseUses), res.TS)
		}
		return nil
	case res.Error == "ratelimited" || res.Error == "internal_error" || res.Error == "fatal_error" || res.Error == "service_unavailable":
		return &retryError{fmt.Errorf("slack chat.postMessage: %s", res.Error), ra, false}
	}
	return refused("slack chat.postMessage: %s", res.Error)
}

// dingTalkMarkdown is a DingTalk markdown message.
type dingTalkMarkdown struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
}

func dingTalkBody(m message) dingTalkMarkdown {
	var b dingTalkMarkdown
	b.MsgType = "markdown"
	b.Markdown.Title = m.title
	b.Markdown.Text = "**" + m.title + "**"
	for _, l := range m.lines {
		b.Markdown.Text += "\n\n" + l
	}
	return b
}

// DingTalk errcodes worth retrying: sending too fast, busy.
var dingTalkRetry = map[int]bool{130101: true, -1: true}

func (p *Publisher) dingTalk(ctx context.Context, r store.ChatReply, m message) error {
	body := dingTalkBody(m)
	target, what := "", ""
	switch {
	case p.cfg.Now().Before(r.ExpiresAt) && p.cfg.Allow.Allowed(r.URL):
		target, what = r.URL, "sessionWebhook"
	case p.cfg.DingTalkRobotWebhook != "":
		target, what = RobotURL(p.cfg.DingTalkRobotWebhook, p.cfg.DingTalkRobotSecret, p.cfg.Now()), "robot"
	default:
		return refused("the conversation's sessionWebhook expired at %s, and VPNGW_DINGTALK_ROBOT_WEBHOOK is not set to post otherwise", r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	status, ra, text, err := p.post(ctx, target, body, nil)
	if err != nil {
		return err
	}
	if status == http.StatusTooManyRequests || status/100 == 5 {
		return &retryError{fmt.Errorf("dingtalk %s: %d %s", what, status, text), ra, false}
	}
	var res struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if status/100 != 2 || json.Unmarshal([]byte(text), &res) != nil {
		return refused("dingtalk %s: %d %s", what, status, text)
	}
	switch {
	case res.ErrCode == 0:
		return nil
	case dingTalkRetry[res.ErrCode]:
		return &retryError{fmt.Errorf("dingtalk %s: %d %s", what, res.ErrCode, res.ErrMsg), max(ra, time.Minute), false}
	}
	return refused("dingtalk %s: %d %s", what, res.ErrCode, res.ErrMsg)
}

// RobotURL signs a custom robot's webhook as DingTalk documents: timestamp
// in milliseconds and sign, the URL-encoded base64 HMAC-SHA256 of
// timestamp+"\n"+secret keyed with the secret. Without a secret the URL is
// returned as it is (a robot secured by keywords or IPs).
func RobotURL(webhook, secret string, now time.Time) string {
	if secret == "" {
		return webhook
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	sign := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	sep := "?"
	if strings.Contains(webhook, "?") {
		sep = "&"
	}
	return webhook + sep + "timestamp=" + ts + "&sign=" + sign
}

// maxAnswer bounds what is read of a platform's answer.
const maxAnswer = 64 << 10

// post sends body as JSON and returns the status, the Retry-After asked
// for (defaultRetryAfter when none) and the answer. A failure to reach the
// platform is an error worth retrying.
func (p *Publisher) post(ctx context.Context, target string, body any, h http.Header) (int, time.Duration, string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, 0, "", refused("encode the reply: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return 0, 0, "", refused("reply address: %v", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return 0, 0, "", &retryError{fmt.Errorf("post the reply to %s: %s", shownURL(req.URL), redactURL(err, req.URL, target)), defaultRetryAfter, true}
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After")), strings.TrimSpace(string(text)), nil
}

// redactURL is the error of a post that got no answer, without the reply
// URL, which carries a token: *url.Error quotes the whole URL as the
// client wrote it, so only its cause is kept, and any copy of the URL left
// in it (as written, or as the client writes it) is cut.
func redactURL(err error, u *url.URL, target string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	for _, s := range []string{target, u.String(), u.Path, u.RawQuery} {
		if s != "" && s != "/" {
			msg = strings.ReplaceAll(msg, s, "…")
		}
	}
	return msg
}

// shownURL names a reply address by scheme and host alone.
func shownURL(u *url.URL) string { return u.Scheme + "://" + u.Host }

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return defaultRetryAfter
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return defaultRetryAfter
}
