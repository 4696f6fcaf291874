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

// On an API whose clock runs 20 times the wall clock, the API's minute is
// 3 s of the client's: the window, the hold and the probing are taken on
// it, so that a throttle costs the share of a batch it costs deployed,
// not 20 times as much (a hold of 10 wall-clock minutes is over three
// hours of such an API's time).
func TestLearningOnAFasterClock(t *testing.T) {
	got := Learning{Refresh: time.Millisecond}.OnClock(20)
	want := Learning{Window: 3 * time.Second, Margin: 0.95, Hold: 30 * time.Second, MaxHold: 12 * time.Minute,
		ProbeEvery: 3 * time.Second, ProbeStep: 0.10, Refresh: time.Millisecond}
	if got != want {
		t.Errorf("OnClock(20) = %+v, want %+v", got, want)
	}
	if l := (Learning{Hold: time.Minute}); l.OnClock(1) != l || l.OnClock(0) != l {
		t.Errorf("OnClock(1) and OnClock(0) change %+v", l)
	}
}
