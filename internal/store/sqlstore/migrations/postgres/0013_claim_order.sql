-- Claim leases the oldest claimable requests of one state. An index in
-- that order (state, then age) serves the query as it stands: the claim
-- reads the state's requests oldest first and stops at its limit. The index
-- it replaces led with lease_until, so every claim read and sorted every
-- request of the state. lease_until is kept last so that a leased request
-- is stepped over by the index alone.
DROP INDEX requests_claim_idx;
CREATE INDEX requests_claim_idx ON requests (state, created_at, request_key, lease_until);
