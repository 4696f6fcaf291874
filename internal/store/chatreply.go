package store

import "time"

// Chat platforms of a ChatReply.
const (
	PlatformSlack    = "slack"
	PlatformDingTalk = "dingtalk"
)

// ChatReply is where the outcomes of a chat request are posted: the reply
// address the platform signed in the command (migration 0012).
type ChatReply struct {
	RequestKey string
	Platform   string // PlatformSlack or PlatformDingTalk
	// URL is Slack's response_url or DingTalk's sessionWebhook.
	URL string
	// ExpiresAt is when URL stops taking posts (DingTalk's
	// sessionWebhookExpiredTime; for Slack, 30 minutes after the command).
	ExpiresAt time.Time
	// Channel is Slack's channel_id or DingTalk's conversationId, for the
	// bot's post once URL is spent.
	Channel string
	// Uses counts the posts URL took (Slack allows 5).
	Uses int
	// ThreadTS is the ts of the first chat.postMessage, which later posts
	// thread under.
	ThreadTS  string
	CreatedAt time.Time
}
