package pause

import (
	"context"
	"time"
)

// For waits d, or until ctx ends: it returns nil after d, ctx's error if
// ctx ends first. A d that is not positive does not wait and returns ctx's
// error, nil while ctx is live. The timer is stopped on either path, so an
// ended wait leaves nothing behind.
func For(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
