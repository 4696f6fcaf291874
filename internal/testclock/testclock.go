// Package testclock is the settable clock tests hand to the use cases, the
// store and the emulator in place of time.Now, so that a test can let minutes
// pass in no time and every part sees the same instant.
package testclock

import (
	"sync"
	"time"
)

// Clock stands at one instant until a test moves it. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now is the instant the clock stands at.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
