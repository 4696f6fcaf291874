-- A chat request's reply address, taken from the platform's signed request:
-- Slack's response_url (and the channel, for chat.postMessage once the
-- response_url is spent) or DingTalk's sessionWebhook with its expiry (and
-- the conversation). The drain's chat destination posts each outcome of the
-- request there; uses counts the posts to a Slack response_url (5 allowed),
-- thread_ts is the first chat.postMessage's ts, which later posts thread under.
CREATE TABLE chat_replies (
    request_key TEXT        NOT NULL PRIMARY KEY,
    platform    TEXT        NOT NULL,
    url         TEXT        NOT NULL,
    expires_at  TIMESTAMPTZ NULL,
    channel     TEXT        NOT NULL DEFAULT '',
    uses        INTEGER     NOT NULL DEFAULT 0,
    thread_ts   TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);
