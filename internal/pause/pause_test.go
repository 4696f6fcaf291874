package pause_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/pause"
)

func TestFor(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		d       time.Duration
		want    error
		atLeast time.Duration
	}{
		{name: "waits the whole duration", ctx: context.Background(), d: 20 * time.Millisecond, atLeast: 20 * time.Millisecond},
		{name: "zero returns at once", ctx: context.Background(), d: 0},
		{name: "negative returns at once", ctx: context.Background(), d: -time.Second},
		{name: "an ended context ends the wait", ctx: cancelled, d: time.Hour, want: context.Canceled},
		{name: "an ended context with nothing to wait", ctx: cancelled, d: 0, want: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := pause.For(tc.ctx, tc.d)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("For(%s) = %v, want %v", tc.d, err, tc.want)
			}
			if took := time.Since(start); took < tc.atLeast || took > tc.atLeast+10*time.Second {
				t.Fatalf("For(%s) took %s, want at least %s", tc.d, took, tc.atLeast)
			}
		})
	}
}

func TestForEndsWhenTheContextEndsMidway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := pause.For(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("For(1h) under a 20ms deadline = %v, want DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("For(1h) under a 20ms deadline took %s", took)
	}
}
