// Package chatreply posts the outcomes of a chat request back to the
// conversation the command came from: a destination of the outbox drain,
// so that replies are retried, never lost and posted once each, in order.
//
// Slack: the command's response_url while it takes posts (5 within 30
// minutes), then chat.postMessage with the bot token into the channel,
// threaded under the first such post. DingTalk: the message's
// sessionWebhook until it expires, then the custom group robot, signed.
// Only the platforms' documented hosts and the operator's prefixes
// (VPNGW_CHAT_REPLY_ALLOW) are called.
package chatreply
