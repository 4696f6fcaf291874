package testclock

import (
	"context"
	"testing"
	"time"
)

var start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// A stopped clock moves only when told: Sleep advances it at once.
func TestStoppedClockSleepAdvances(t *testing.T) {
	c := New(start)
	if c.Speed() != 1 {
		t.Errorf("Speed of a stopped clock = %v, want 1", c.Speed())
	}
	if err := c.Sleep(context.Background(), 90*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got != 90*time.Second {
		t.Errorf("after Sleep(90s) the clock moved %s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil || c.Now().Sub(start) != 90*time.Second {
		t.Errorf("Sleep on an ended context: %v, clock at %s", err, c.Now().Sub(start))
	}
}

// A running clock runs speed times as fast as the wall clock, and its
// Sleep waits d/speed of wall-clock time.
func TestRunningClockRunsFaster(t *testing.T) {
	c := NewRunning(start, 1000)
	wall := time.Now()
	if err := c.Sleep(context.Background(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(wall); waited < 20*time.Millisecond {
		t.Errorf("Sleep(20s) at speed 1000 waited %s of wall time, want at least 20ms", waited)
	}
	if moved := c.Now().Sub(start); moved < 20*time.Second {
		t.Errorf("after Sleep(20s) the clock moved %s", moved)
	}
	c.Advance(time.Hour)
	if moved := c.Now().Sub(start); moved < time.Hour+20*time.Second {
		t.Errorf("Advance(1h) on a running clock: moved %s", moved)
	}
	if NewRunning(start, 0).Speed() != 1 || NewRunning(start, 0).Now() != start {
		t.Error("NewRunning with speed 0 is not a stopped clock")
	}
}
