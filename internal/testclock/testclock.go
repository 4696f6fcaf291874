// Package testclock is the settable clock tests hand to the use cases, the
// store and the emulator in place of time.Now, so that a test can let minutes
// pass in no time and every part sees the same instant.
package testclock

import (
	"context"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/pause"
)

// Clock stands at one instant until a test moves it, or, made by
// NewRunning, runs a set number of times faster than the wall clock. It is
// safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	speed  float64   // 0: stopped
	anchor time.Time // the wall-clock instant t was read at (running)
}

// New returns a Clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// NewRunning returns a Clock that starts at t and runs speed times as fast
// as the wall clock (speed 60: a minute passes in a second), so that a
// benchmark of something that waits minutes runs in seconds and still waits.
// A speed that is not positive stops the clock (New).
func NewRunning(t time.Time, speed float64) *Clock {
	if speed <= 0 {
		return New(t)
	}
	return &Clock{t: t, speed: speed, anchor: time.Now()}
}

// Now is the instant the clock stands at.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	if c.speed == 0 {
		return c.t
	}
	return c.t.Add(time.Duration(float64(time.Since(c.anchor)) * c.speed))
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Speed is how many of the clock's seconds pass in a wall-clock second: the
// running clock's speed, and 1 for a stopped clock (whose time passes only
// in Advance and Sleep, so a wall-clock budget is taken as it is).
func (c *Clock) Speed() float64 {
	if c.speed == 0 {
		return 1
	}
	return c.speed
}

// Sleep waits d on the clock. A running clock waits d/speed of wall-clock
// time; a stopped clock is advanced by d at once, so that a loop that sleeps
// between steps walks through its schedule in no time and everything else
// on the clock sees each step's instant. It returns ctx's error if ctx ends
// first.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	if c.speed == 0 {
		c.Advance(d)
		return nil
	}
	return pause.For(ctx, time.Duration(float64(d)/c.speed))
}
