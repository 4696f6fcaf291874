-- Fewer index entries written a request. A change of state is never a HOT
-- update (requests_claim_idx holds the state), so every update of a request
-- writes a new entry in every index its row is in, and every insert of a
-- request or event one in each index of its table.
-- outbox_unsent_idx and outbox_parked_idx filter on outbox.parked_at, which
-- no query has read since deliveries moved to outbox_deliveries (0010): the
-- drains, the sent mark and the outbox status read outbox_unsettled_idx.
-- outbox_request_idx serves no query (requests are never deleted, so the
-- foreign key never looks an outbox row up by its request either).
-- expires_at and orphaned_at are NULL for most requests and their queries
-- read only the rows where they are set (expires_at IS NOT NULL, orphaned_at
-- IS NOT NULL in the query, which a generic plan proves the predicate
-- from), so their indexes keep only those rows. requests_source_idx stays:
-- the quota's count reads it with requests_source_accepted_idx (BitmapOr).
DROP INDEX outbox_unsent_idx;
DROP INDEX outbox_parked_idx;
DROP INDEX outbox_request_idx;
DROP INDEX requests_expires_idx;
CREATE INDEX requests_expires_idx ON requests (expires_at) WHERE expires_at IS NOT NULL;
DROP INDEX requests_orphaned_idx;
CREATE INDEX requests_orphaned_idx ON requests (orphaned_at) WHERE orphaned_at IS NOT NULL;
