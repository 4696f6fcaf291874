-- The operator policy's quotas count a requester's requests by state.
CREATE INDEX requests_source_idx ON requests (source, state);
