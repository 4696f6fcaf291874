-- A request's history: one row per change of its state, with who made it
-- (provision, webhook, reconcile, operator) and why (the API's code, the
-- policy rule, the failure), written in the transaction of the change. The
-- current state is the last row's. A request recorded before this migration
-- gets one synthetic row: its state at migration, by the actor 'migration',
-- with its last error (if any) as the reason.
CREATE TABLE request_history (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_key TEXT    NOT NULL REFERENCES requests (request_key),
    at          TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    actor       TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    gateway_id  TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX request_history_key_idx ON request_history (request_key, seq);
INSERT INTO request_history (request_key, at, state, actor, reason, gateway_id)
    SELECT request_key, updated_at, state, 'migration',
           CASE WHEN last_error <> '' THEN last_error ELSE 'recorded before the history was kept' END, gateway_id
    FROM requests ORDER BY created_at, request_key;
