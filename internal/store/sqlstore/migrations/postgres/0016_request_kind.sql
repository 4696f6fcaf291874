-- What a request asks for: 'create' (a gateway, or a batch of them; every
-- request recorded before this migration) or 'delete' (a gateway vpngw
-- created, to delete: gateway_id names it, client_token is
-- DeleteVpnGateway's). A delete checks that a create request holds the
-- gateway, by gateway_id.
ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'create';
CREATE INDEX requests_gateway_idx ON requests (gateway_id);
