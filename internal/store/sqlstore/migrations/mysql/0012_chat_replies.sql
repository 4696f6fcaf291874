-- A chat request's reply address, taken from the platform's signed request:
-- Slack's response_url (and the channel, for chat.postMessage once the
-- response_url is spent) or DingTalk's sessionWebhook with its expiry (and
-- the conversation). The drain's chat destination posts each outcome of the
-- request there; uses counts the posts to a Slack response_url (5 allowed),
-- thread_ts is the first chat.postMessage's ts, which later posts thread under.
CREATE TABLE IF NOT EXISTS chat_replies (
    request_key VARCHAR(191)  NOT NULL PRIMARY KEY,
    platform    VARCHAR(16)   NOT NULL,
    url         VARCHAR(2048) NOT NULL,
    expires_at  DATETIME(6)   NULL,
    channel     VARCHAR(191)  NOT NULL DEFAULT '',
    uses        INTEGER       NOT NULL DEFAULT 0,
    thread_ts   VARCHAR(64)   NOT NULL DEFAULT '',
    created_at  DATETIME(6)   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
