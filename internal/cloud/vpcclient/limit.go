package vpcclient

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/pause"
)

// Limiter spaces the calls under one key ("region/Action") to perSec a
// second. Wait returns when the caller may make one call, or an error at once
// when that moment would come after ctx's deadline (or ctx ends first).
type Limiter interface {
	Wait(ctx context.Context, key string, perSec float64) error
}

// InstanceLimiter limits the calls of this process alone: N instances
// together may make N times the rate (the API's throttling answers then slow
// them down). It suits one instance, the local stack and tests.
type InstanceLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time // key → the start of its latest call
}

// NewInstanceLimiter returns an InstanceLimiter with no calls made yet.
func NewInstanceLimiter() *InstanceLimiter {
	return &InstanceLimiter{last: map[string]time.Time{}}
}

// Wait implements Limiter: each call under key starts an interval at
// perSec after the one before, or at once when that is past, as the
// shared queue of SharedLimiter spaces them. A new perSec (a rate learned
// from throttling, or probed a step up) spaces the next call from the last
// start at the new rate: the calls already waiting keep their starts. (A
// token bucket made anew at each change let one call through at once,
// beside them; changed in place, it converted the waiting calls' debt at
// the new rate, and the next call came early.)
func (l *InstanceLimiter) Wait(ctx context.Context, key string, perSec float64) error {
	if !(perSec > 0) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	interval := time.Duration(float64(time.Second) / perSec)
	l.mu.Lock()
	now := time.Now()
	start := now
	prev, seen := l.last[key]
	if seen && prev.Add(interval).After(start) {
		start = prev.Add(interval)
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(start) {
		l.mu.Unlock()
		return &NoSlotError{Key: key, Wait: start.Sub(now)}
	}
	l.last[key] = start
	l.mu.Unlock()
	if err := pause.For(ctx, time.Until(start)); err != nil {
		// The start is given back when no call was spaced after it.
		l.mu.Lock()
		if l.last[key].Equal(start) {
			if seen {
				l.last[key] = prev
			} else {
				delete(l.last, key)
			}
		}
		l.mu.Unlock()
		return err
	}
	return nil
}

// SlotReserver keeps, per key, a queue of call starts shared by every
// instance (sqlstore.Store implements it on the functions' database).
type SlotReserver interface {
	// ReserveSlot reserves the next start under key, at least interval after
	// the one before, unless it is after latest (zero: no bound); it returns
	// how long from now the start is and whether it was reserved.
	ReserveSlot(ctx context.Context, key string, interval time.Duration, latest time.Time) (time.Duration, bool, error)
}

// SharedLimiter limits the calls of every instance that uses the same
// SlotReserver together, as the API's quotas do (per account, region and
// action): each call reserves its start in the shared queue, then waits for
// it. It costs one database transaction per call.
type SharedLimiter struct {
	Slots SlotReserver
}

// NoSlotError is what Wait returns when the next free start is after the
// caller's deadline; nothing was reserved.
type NoSlotError struct {
	Key  string
	Wait time.Duration
}

func (e *NoSlotError) Error() string {
	return fmt.Sprintf("rate limit %s: the next free call start is in %s, after the invocation's deadline", e.Key, e.Wait.Round(time.Millisecond))
}

// Wait implements Limiter.
func (l SharedLimiter) Wait(ctx context.Context, key string, perSec float64) error {
	interval := time.Duration(float64(time.Second) / perSec)
	var latest time.Time
	if dl, ok := ctx.Deadline(); ok {
		latest = dl
	}
	wait, ok, err := l.Slots.ReserveSlot(ctx, key, interval, latest)
	if err != nil {
		// The queue is out of reach (the database is down or busy): the
		// call is not made, and may be tried again later.
		return &cloud.Error{Kind: cloud.Transient, Code: "RateLimiter", Message: fmt.Sprintf("rate limit %s: %v", key, err)}
	}
	if !ok {
		return &NoSlotError{Key: key, Wait: wait}
	}
	if wait <= 0 {
		return nil
	}
	return pause.For(ctx, wait)
}
