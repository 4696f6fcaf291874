// Package ctl is vpngwctl, the operator's tool: its commands (requests,
// outbox, policy, tail, migrate, schema, send, completion), their flags,
// help, output and exit codes. It holds no adapter: the composition root
// (internal/app) hands it the opened store, the provision use case and the
// broker subscription through the ports of Deps, so that every command can
// be read and tested without a database driver or a broker client.
// docs/VPNGWCTL.md is its manual.
package ctl
