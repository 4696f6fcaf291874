-- Delivery is per sink (VPNGW_QUEUE_URL may name several): a row per sink
-- and event once that sink acknowledged it (sent_at) or refused it for good
-- (parked_at, parked_reason). The outbox row's sent_at now says "settled":
-- every configured sink has a row, so no drain needs the event any more.
-- A sink is named by its URL without user, password or query; the first
-- sink of VPNGW_QUEUE_URL is named '' so that a deployment with one sink
-- keeps its state. Events parked before this migration stay parked, for
-- that first sink.
CREATE TABLE outbox_deliveries (
    sink          TEXT        NOT NULL,
    seq           BIGINT      NOT NULL REFERENCES outbox (seq),
    sent_at       TIMESTAMPTZ NULL,
    parked_at     TIMESTAMPTZ NULL,
    parked_reason TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (sink, seq)
);
CREATE INDEX outbox_deliveries_parked_idx ON outbox_deliveries (sink, seq) WHERE parked_at IS NOT NULL;
INSERT INTO outbox_deliveries (sink, seq, parked_at, parked_reason)
    SELECT '', seq, parked_at, parked_reason FROM outbox WHERE sent_at IS NULL AND parked_at IS NOT NULL;
-- Every drain reads what is not settled, parked for some sink or not.
CREATE INDEX outbox_unsettled_idx ON outbox (seq) WHERE sent_at IS NULL;
