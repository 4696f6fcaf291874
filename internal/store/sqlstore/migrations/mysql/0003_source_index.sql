-- The operator policy's quotas count a requester's requests by state. A
-- prefix keeps the key within InnoDB's limit for utf8mb4.
CREATE INDEX requests_source_idx ON requests (source(255), state);
