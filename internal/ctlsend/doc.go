// Package ctlsend is `vpngwctl send`: it signs a request the way each route
// of the webhook function verifies it (POST / with a webhook key, POST
// /slack as Slack signs, POST /dingtalk as DingTalk signs) and posts it,
// so that a route can be tried against `make run` or a deployed function
// without a chat platform or a hand-made HMAC. The signatures come from
// internal/webhook's own signers, the code the routes verify with.
// cmd/vpngwctl (through internal/app.Ctl, which hands it to internal/ctl) is its only importer;
// docs/VPNGWCTL.md is the recipe.
package ctlsend
