package webhook

import (
	"context"
	"strconv"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// ReplyStore keeps the reply address of a chat request, which the outbox
// drain's chat destination posts each outcome to.
type ReplyStore interface {
	SaveChatReply(ctx context.Context, r store.ChatReply) error
}

// WithChatReplies records the reply address of each chat command that
// makes a request (Slack's response_url, DingTalk's sessionWebhook) in st,
// if allowed says vpngw may call it: an address on no allowed host is
// dropped, so that no requester can make vpngw call a URL of theirs.
func WithChatReplies(st ReplyStore, allowed func(url string) bool) Option {
	return func(h *handler) { h.replies, h.replyAllowed = st, allowed }
}

// maxReplyURL bounds a reply address kept: the platforms' are far shorter.
const maxReplyURL = 2048

// slackReply is the reply address of a slash command: its response_url,
// which takes posts for 30 minutes, and the channel.
func slackReply(responseURL, channel string, now time.Time) *store.ChatReply {
	if responseURL == "" {
		return nil
	}
	return &store.ChatReply{Platform: store.PlatformSlack, URL: responseURL, ExpiresAt: now.Add(30 * time.Minute), Channel: channel}
}

// dingTalkReply is the reply address of a robot message: its
// sessionWebhook until sessionWebhookExpiredTime (milliseconds).
func dingTalkReply(webhook string, expiresMS int64, conversation string) *store.ChatReply {
	if webhook == "" {
		return nil
	}
	return &store.ChatReply{Platform: store.PlatformDingTalk, URL: webhook, ExpiresAt: time.UnixMilli(expiresMS).UTC(), Channel: conversation}
}

// saveReply records m's reply address for the request it makes, before the
// request is recorded: the drain may post its first outcome at once.
func (h *handler) saveReply(ctx context.Context, m chatMessage) {
	r := m.reply
	if r == nil || h.replies == nil {
		return
	}
	if len(r.URL) > maxReplyURL || h.replyAllowed == nil || !h.replyAllowed(r.URL) {
		h.log.WarnContext(ctx, "chat reply address not on an allowed host: the outcomes are not posted to the conversation (VPNGW_CHAT_REPLY_ALLOW adds prefixes)",
			"caller", m.caller, "source", m.identity.Source, "event_id", m.identity.EventID, "url_bytes", strconv.Itoa(len(r.URL)))
		return
	}
	c := *r
	c.RequestKey = m.identity.Key()
	c.CreatedAt = h.now()
	if err := h.replies.SaveChatReply(ctx, c); err != nil {
		h.log.WarnContext(ctx, "chat reply address not recorded: the outcomes are not posted to the conversation", "caller", m.caller, "event_id", m.identity.EventID, "err", err)
	}
}
