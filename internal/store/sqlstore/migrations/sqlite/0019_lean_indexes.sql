-- Fewer index pages written a request. Every index is one more B-tree that
-- each insert of a request or event, and each update of a column it holds,
-- writes a page of (32 WAL pages a provision request before this).
-- outbox_unsent_idx and outbox_parked_idx filter on outbox.parked_at, which
-- no query has read since deliveries moved to outbox_deliveries (0010): the
-- drains, the sent mark and the outbox status read outbox_unsettled_idx.
-- outbox_request_idx serves no query (requests are never deleted, so the
-- foreign key never looks an outbox row up by its request either).
-- requests_source_idx: the quota's count and ChatRequests read
-- requests_source_accepted_idx by its source prefix (EXPLAIN QUERY PLAN, with
-- or without ANALYZE), and the state it holds changes on every transition.
-- expires_at and orphaned_at are NULL for most requests and their queries
-- read only the rows where they are set (expires_at IS NOT NULL, orphaned_at
-- IS NOT NULL in the query), so their indexes keep only those rows.
DROP INDEX outbox_unsent_idx;
DROP INDEX outbox_parked_idx;
DROP INDEX outbox_request_idx;
DROP INDEX requests_source_idx;
DROP INDEX requests_expires_idx;
CREATE INDEX requests_expires_idx ON requests (expires_at) WHERE expires_at IS NOT NULL;
DROP INDEX requests_orphaned_idx;
CREATE INDEX requests_orphaned_idx ON requests (orphaned_at) WHERE orphaned_at IS NOT NULL;
