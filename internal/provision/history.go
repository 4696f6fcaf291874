package provision

import (
	"context"
	"errors"

	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/store"
)

// actingFor is ctx with the actor of the request's history: the one the
// caller set (the reconcile tick, an operator), or else whoever delivered
// the request: a webhook route when one authenticated it (caller), the
// provision function otherwise.
func actingFor(ctx context.Context, caller string) context.Context {
	if store.ActorFrom(ctx) != "" {
		return ctx
	}
	if caller != "" {
		return store.WithActor(ctx, store.ActorWebhook)
	}
	return store.WithActor(ctx, store.ActorProvision)
}

// allowedBy is the reason in the history of a request the policy allowed.
func allowedBy(d policy.Decision) string {
	if d.Rule == "" {
		return "allowed by the policy"
	}
	return "allowed by rule " + d.Rule
}

// transientNote is the history's reason for a create that failed for now:
// the API's code when it gave one, so that the same failure on the next
// attempt (with another API request id in its message) adds no entry.
func transientNote(err error) store.Note {
	var api APIError
	if errors.As(err, &api) && api.APICode() != "" {
		return store.Note{Reason: truncate("will retry: "+api.APICode(), store.MaxReason)}
	}
	return store.Note{}
}
