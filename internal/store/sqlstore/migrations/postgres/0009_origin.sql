-- The rest of the requester, as the policy saw it: the name of the webhook
-- key that signed the request, and what the platform stamped on an
-- event-bus delivery (its bus, the rule's route constant, the AWS account),
-- as a JSON object; '' when there is none. A re-drive is decided again as
-- this requester, and a batch's items inherit it.
ALTER TABLE requests ADD COLUMN origin TEXT NOT NULL DEFAULT '';
