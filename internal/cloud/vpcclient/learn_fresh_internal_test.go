package vpcclient

import (
	"context"
	"testing"
	"time"
)

// An instance that started part-way through the API's window has seen
// only its own few calls of it: they say nothing of the quota, which the
// calls before it (and other instances') used. A throttle then lowers the
// rate by what the answer's wait says, not to the handful of calls this
// instance made: one call and a 1 s wait used to learn one call a minute,
// and every instance sharing the rate stopped for a minute.
func TestThrottleSoonAfterStartDoesNotCollapseTheRate(t *testing.T) {
	l := newLearner(nil, Learning{}, nil)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const configured = 10.0 // a second
	if r, _ := l.rate(ctx, "cn-hangzhou/CreateVpnGateway", configured, now); r != configured {
		t.Fatalf("rate before any throttle %v, want %v", r, configured)
	}
	l.sent("cn-hangzhou/CreateVpnGateway", now)
	now = now.Add(100 * time.Millisecond)
	l.throttled(ctx, "cn-hangzhou/CreateVpnGateway", configured, configured, time.Second, now)
	r, _ := l.rate(ctx, "cn-hangzhou/CreateVpnGateway", configured, now)
	if want := configured * 59.0 / 60 * 0.9; r < want {
		t.Fatalf("rate after one throttle with a 1 s wait, one call seen: %.3f a second, want at least %.3f", r, want)
	}
}
