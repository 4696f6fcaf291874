-- Delivery is per sink (VPNGW_QUEUE_URL may name several): a row per sink
-- and event once that sink acknowledged it (sent_at) or refused it for good
-- (parked_at, parked_reason). The outbox row's sent_at now says "settled":
-- every configured sink has a row, so no drain needs the event any more.
-- A sink is named by its URL without user, password or query; the first
-- sink of VPNGW_QUEUE_URL is named '' so that a deployment with one sink
-- keeps its state. Events parked before this migration stay parked, for
-- that first sink. Each statement is safe to repeat after a stop halfway.
CREATE TABLE IF NOT EXISTS outbox_deliveries (
    sink          VARCHAR(191)  NOT NULL,
    seq           BIGINT        NOT NULL,
    sent_at       DATETIME(6)   NULL,
    parked_at     DATETIME(6)   NULL,
    parked_reason VARCHAR(1024) NOT NULL DEFAULT '',
    PRIMARY KEY (sink, seq),
    INDEX outbox_deliveries_parked_idx (sink, parked_at, seq),
    CONSTRAINT outbox_deliveries_seq_fk FOREIGN KEY (seq) REFERENCES outbox (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO outbox_deliveries (sink, seq, parked_at, parked_reason)
    SELECT '', seq, parked_at, parked_reason FROM outbox WHERE sent_at IS NULL AND parked_at IS NOT NULL
    ON DUPLICATE KEY UPDATE sink = outbox_deliveries.sink;
-- Every drain reads what is not settled, parked for some sink or not.
ALTER TABLE outbox ADD INDEX outbox_unsettled_idx (sent_at, seq);
