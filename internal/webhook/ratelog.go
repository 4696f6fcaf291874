package webhook

import (
	"sync"
	"time"
)

// Bounds of the refused-request log: a burst of lines, then one line per
// interval. Whatever is held back is counted and reported on the next line
// let through, as "suppressed".
const (
	refusalBurst = 10
	refusalEvery = 6 * time.Second // 10 a minute after the burst
)

// logBucket is a token bucket for log lines: take reports whether a line
// may be written now, and how many were held back since the last one.
type logBucket struct {
	mu         sync.Mutex
	now        func() time.Time
	burst      float64
	every      time.Duration
	tokens     float64
	last       time.Time
	suppressed int
}

func newLogBucket(burst int, every time.Duration, now func() time.Time) *logBucket {
	return &logBucket{now: now, burst: float64(burst), every: every, tokens: float64(burst)}
}

// take spends a token if there is one. When it does, it returns true and
// the number of lines held back before it (and starts counting anew).
func (b *logBucket) take() (bool, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+float64(now.Sub(b.last))/float64(b.every))
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	n := b.suppressed
	b.suppressed = 0
	return true, n
}
