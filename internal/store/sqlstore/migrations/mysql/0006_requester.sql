-- Who asked, as the policy saw it: the webhook route (caller) and chat user,
-- and the request's own dry-run flag (vpngwdryrun). A batch keeps them for
-- its items, and a re-drive decides a request again as its requester.
-- request_data is the request's data as it arrived, before the policy added
-- tags: what a re-drive is decided on (NULL for requests recorded before).
-- item_scheme, on a batch, says how its items are named: 0 "<event id>/<index>"
-- (batches recorded before), 1 "<event id>/item-<index>", keyed apart.
-- One statement per column: MySQL commits each, and a column an interrupted
-- run already added (1060) counts as done.
ALTER TABLE requests ADD COLUMN caller VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN chat_user VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN request_data MEDIUMBLOB NULL;
ALTER TABLE requests ADD COLUMN item_scheme SMALLINT NOT NULL DEFAULT 0;
