-- A request's history: one row per change of its state, with who made it
-- (provision, webhook, reconcile, operator) and why (the API's code, the
-- policy rule, the failure), written in the transaction of the change. The
-- current state is the last row's. A request recorded before this migration
-- gets one synthetic row: its state at migration, by the actor 'migration',
-- with its last error (if any) as the reason. MySQL commits each statement:
-- the table is IF NOT EXISTS with its index inline, and the synthetic rows
-- skip a request that has one, so an interrupted run is safe to repeat.
CREATE TABLE IF NOT EXISTS request_history (
    seq         BIGINT       NOT NULL AUTO_INCREMENT,
    request_key VARCHAR(191) NOT NULL,
    at          DATETIME(6)  NOT NULL,
    state       VARCHAR(16)  NOT NULL,
    actor       VARCHAR(32)  NOT NULL DEFAULT '',
    reason      TEXT         NOT NULL,
    gateway_id  VARCHAR(191) NOT NULL DEFAULT '',
    PRIMARY KEY (seq),
    INDEX request_history_key_idx (request_key, seq),
    CONSTRAINT request_history_request_fk FOREIGN KEY (request_key) REFERENCES requests (request_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO request_history (request_key, at, state, actor, reason, gateway_id)
    SELECT r.request_key, r.updated_at, r.state, 'migration',
           CASE WHEN r.last_error <> '' THEN r.last_error ELSE 'recorded before the history was kept' END, r.gateway_id
    FROM requests r
    WHERE NOT EXISTS (SELECT 1 FROM request_history h WHERE h.request_key = r.request_key)
    ORDER BY r.created_at, r.request_key;
