-- Requests and their outbox, for MySQL 8 and MariaDB 10.6 or later (SKIP
-- LOCKED). MySQL runs DDL outside transactions, so each table is one statement
-- with its indexes inline and IF NOT EXISTS, which makes a half-applied run
-- safe to repeat. utf8mb4_bin keeps keys case-sensitive.
CREATE TABLE IF NOT EXISTS requests (
    request_key  VARCHAR(191)  NOT NULL,
    source       VARCHAR(1024) NOT NULL,
    event_id     VARCHAR(1024) NOT NULL,
    subject      VARCHAR(1024) NOT NULL DEFAULT '',
    client_token VARCHAR(191)  NOT NULL,
    region_id    VARCHAR(64)   NOT NULL,
    vpc_id       VARCHAR(191)  NOT NULL DEFAULT '',
    params       MEDIUMBLOB    NOT NULL,
    state        VARCHAR(16)   NOT NULL,
    gateway_id   VARCHAR(191)  NOT NULL DEFAULT '',
    order_id     BIGINT        NOT NULL DEFAULT 0,
    attempts     INT           NOT NULL DEFAULT 0,
    last_error   TEXT          NOT NULL,
    created_at   DATETIME(6)   NOT NULL,
    updated_at   DATETIME(6)   NOT NULL,
    accepted_at  DATETIME(6)   NULL,
    lease_owner  VARCHAR(191)  NOT NULL DEFAULT '',
    lease_until  DATETIME(6)   NULL,
    PRIMARY KEY (request_key),
    INDEX requests_claim_idx (state, lease_until, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS outbox (
    seq         BIGINT       NOT NULL AUTO_INCREMENT,
    id          VARCHAR(255) NOT NULL,
    request_key VARCHAR(191) NOT NULL,
    type        VARCHAR(255) NOT NULL,
    body        MEDIUMBLOB   NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    sent_at     DATETIME(6)  NULL,
    PRIMARY KEY (seq),
    -- No partial indexes here: (sent_at, seq) serves WHERE sent_at IS NULL
    -- ORDER BY seq from the index alone.
    INDEX outbox_unsent_idx (sent_at, seq),
    INDEX outbox_request_idx (request_key),
    CONSTRAINT outbox_request_fk FOREIGN KEY (request_key) REFERENCES requests (request_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
