-- Fewer index entries written an outbox event. outbox_unsent_idx (sent_at,
-- parked_at, seq) serves no query since deliveries moved to
-- outbox_deliveries (0010): the drains, the sent mark and the outbox status
-- read outbox_unsettled_idx (sent_at, seq). MySQL has no partial indexes,
-- and InnoDB needs outbox_request_idx for the foreign key, so both stay;
-- requests_source_idx stays for the quota's count (index_merge with
-- requests_source_accepted_idx). One statement: a stopped instance leaves it
-- done (1091 on the next run) or not done.
ALTER TABLE outbox DROP INDEX outbox_unsent_idx;
