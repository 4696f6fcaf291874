// Package chatsim stands in for Slack and DingTalk where vpngw posts chat
// replies: local HTTP servers that check what the platforms check (the body's
// JSON shape and content type, a response_url's five uses within 30
// minutes, a sessionWebhook's expiry, a custom robot's access token,
// signature and timestamp window) and keep what they took, for tests.
package chatsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Post is one message a stand-in took.
type Post struct {
	Path string          // the URL path it was posted to
	Body json.RawMessage // as posted
	Text string          // Slack's text, DingTalk's markdown text (or text content)
	// Channel, ThreadTS and ResponseType are a Slack post's.
	Channel, ThreadTS, ResponseType string
}

// Slack stands in for Slack's response_url host and Web API.
type Slack struct {
	*httptest.Server
	// Token is the bot token chat.postMessage takes.
	Token string
	now   func() time.Time

	mu        sync.Mutex
	responses map[string]*responseURL
	posts     []Post
	throttle  int // 429s still to answer
	ts        int
}

type responseURL struct {
	created time.Time
	uses    int
}

// Slack's limits of a response_url.
const (
	ResponseUses   = 5
	ResponseWindow = 30 * time.Minute
)

// NewSlack starts a Slack stand-in; now is its clock (time.Now when nil).
func NewSlack(now func() time.Time) *Slack {
	if now == nil {
		now = time.Now
	}
	s := &Slack{Token: "xoxb-" + randHex(12), now: now, responses: map[string]*responseURL{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /commands/", s.response)
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	s.Server = httptest.NewServer(mux)
	return s
}

// ResponseURL mints the response_url of a slash command, as Slack puts in
// the command's form.
func (s *Slack) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := "/commands/T0001/" + randHex(6) + "/" + randHex(12)
	s.responses[p] = &responseURL{created: s.now()}
	return s.URL + p
}

// APIURL is the Web API base, for VPNGW_SLACK_API_URL.
func (s *Slack) APIURL() string { return s.URL + "/api/" }

// Throttle makes the next n posts answer 429 with Retry-After: 1.
func (s *Slack) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Posts returns what was taken, in order.
func (s *Slack) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// slackMessage is what Slack reads of a message body.
type slackMessage struct {
	Channel      string            `json:"channel"`
	ThreadTS     string            `json:"thread_ts"`
	ResponseType string            `json:"response_type"`
	Text         string            `json:"text"`
	Blocks       []json.RawMessage `json:"blocks"`
}

// readSlack checks a message as Slack does: JSON, an object, text or
// blocks, each block with a type and, for a section, a text object.
func readSlack(r *http.Request) (slackMessage, []byte, string) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return slackMessage{}, nil, "invalid_content_type"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return slackMessage{}, nil, "invalid_request"
	}
	var m slackMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return m, body, "invalid_json"
	}
	if strings.TrimSpace(m.Text) == "" && len(m.Blocks) == 0 {
		return m, body, "no_text"
	}
	if len(m.Blocks) > 50 {
		return m, body, "invalid_blocks"
	}
	for _, raw := range m.Blocks {
		var b struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
		}
		if json.Unmarshal(raw, &b) != nil || b.Type == "" {
			return m, body, "invalid_blocks"
		}
		if b.Type == "section" && (b.Text == nil || (b.Text.Type != "mrkdwn" && b.Text.Type != "plain_text") || b.Text.Text == "" || len(b.Text.Text) > 3000) {
			return m, body, "invalid_blocks"
		}
	}
	switch m.ResponseType {
	case "", "ephemeral", "in_channel":
	default:
		return m, body, "invalid_response_type"
	}
	return m, body, ""
}

// throttled answers 429 if a throttle is set.
func (s *Slack) throttled(w http.ResponseWriter) bool {
	if s.throttle > 0 {
		s.throttle--
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}
	return false
}

func (s *Slack) response(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttled(w) {
		return
	}
	ru, ok := s.responses[r.URL.Path]
	if !ok {
		http.Error(w, "invalid_token", http.StatusNotFound)
		return
	}
	m, body, problem := readSlack(r)
	if problem != "" {
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	switch {
	case s.now().Sub(ru.created) > ResponseWindow:
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	case ru.uses >= ResponseUses:
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	ru.uses++
	s.posts = append(s.posts, Post{Path: r.URL.Path, Body: body, Text: m.Text, ResponseType: m.ResponseType})
	_, _ = io.WriteString(w, "ok")
}

func (s *Slack) postMessage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttled(w) {
		return
	}
	answer := func(v map[string]any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		answer(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	m, body, problem := readSlack(r)
	if problem != "" {
		answer(map[string]any{"ok": false, "error": problem})
		return
	}
	if m.Channel == "" {
		answer(map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	s.ts++
	ts := fmt.Sprintf("%d.%06d", s.now().Unix(), s.ts)
	s.posts = append(s.posts, Post{Path: r.URL.Path, Body: body, Text: m.Text, Channel: m.Channel, ThreadTS: m.ThreadTS})
	answer(map[string]any{"ok": true, "channel": m.Channel, "ts": ts})
}

// DingTalk stands in for DingTalk's session webhooks and a custom group
// robot.
type DingTalk struct {
	*httptest.Server
	// AccessToken and Secret are the custom robot's.
	AccessToken, Secret string
	now                 func() time.Time

	mu       sync.Mutex
	sessions map[string]time.Time
	posts    []Post
}

// NewDingTalk starts a DingTalk stand-in; now is its clock.
func NewDingTalk(now func() time.Time) *DingTalk {
	if now == nil {
		now = time.Now
	}
	d := &DingTalk{AccessToken: randHex(16), Secret: "SEC" + randHex(16), now: now, sessions: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /robot/sendBySession", d.session)
	mux.HandleFunc("POST /robot/send", d.robot)
	d.Server = httptest.NewServer(mux)
	return d
}

// SessionWebhook mints a message's sessionWebhook and its
// sessionWebhookExpiredTime (milliseconds), valid for ttl.
func (d *DingTalk) SessionWebhook(ttl time.Duration) (string, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	session := randHex(16)
	exp := d.now().Add(ttl)
	d.sessions[session] = exp
	return d.URL + "/robot/sendBySession?session=" + session, exp.UnixMilli()
}

// RobotWebhook is the custom robot's webhook, for
// VPNGW_DINGTALK_ROBOT_WEBHOOK.
func (d *DingTalk) RobotWebhook() string { return d.URL + "/robot/send?access_token=" + d.AccessToken }

// Posts returns what was taken, in order.
func (d *DingTalk) Posts() []Post {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Post(nil), d.posts...)
}

func dingAnswer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
}

// readDingTalk checks a message as DingTalk does: JSON, msgtype text with
// content or markdown with title and text.
func readDingTalk(r *http.Request) (string, []byte, string) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return "", nil, "content-type must be application/json"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return "", nil, "unreadable body"
	}
	var m struct {
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
		Markdown struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return "", body, "param error: body is not JSON"
	}
	switch m.MsgType {
	case "text":
		if m.Text.Content == "" {
			return "", body, "param error: text.content is empty"
		}
		return m.Text.Content, body, ""
	case "markdown":
		if m.Markdown.Title == "" || m.Markdown.Text == "" {
			return "", body, "param error: markdown needs title and text"
		}
		return m.Markdown.Text, body, ""
	}
	return "", body, "param error: msgtype " + strconv.Quote(m.MsgType)
}

func (d *DingTalk) session(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	exp, ok := d.sessions[r.URL.Query().Get("session")]
	if !ok || !d.now().Before(exp) {
		dingAnswer(w, 300001, "session webhook expired or unknown")
		return
	}
	d.take(w, r)
}

// robotWindow is how far a signed robot call's timestamp may be from the
// clock.
const robotWindow = time.Hour

func (d *DingTalk) robot(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := r.URL.Query()
	if q.Get("access_token") != d.AccessToken {
		dingAnswer(w, 300001, "token is not exist")
		return
	}
	ms, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		dingAnswer(w, 310000, "sign not match: no timestamp")
		return
	}
	if skew := d.now().Sub(time.UnixMilli(ms)); skew > robotWindow || skew < -robotWindow {
		dingAnswer(w, 310000, "sign not match: timestamp outside the hour")
		return
	}
	mac := hmac.New(sha256.New, []byte(d.Secret))
	mac.Write([]byte(q.Get("timestamp") + "\n" + d.Secret))
	// q.Get has URL-decoded sign once, as DingTalk does.
	if !hmac.Equal([]byte(q.Get("sign")), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))) {
		dingAnswer(w, 310000, "sign not match")
		return
	}
	d.take(w, r)
}

// take reads a message as DingTalk does and keeps it; d.mu is held.
func (d *DingTalk) take(w http.ResponseWriter, r *http.Request) {
	text, body, problem := readDingTalk(r)
	if problem != "" {
		dingAnswer(w, 400, problem)
		return
	}
	d.posts = append(d.posts, Post{Path: r.URL.Path, Body: body, Text: text})
	dingAnswer(w, 0, "ok")
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
