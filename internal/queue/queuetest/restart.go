package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
)

// RestartOptions tunes RunRestart; zero fields take the defaults.
type RestartOptions struct {
	// Messages is how many events to publish; default 60.
	Messages int
	// StopAfter is how many must be acknowledged before the broker stops;
	// default a third of Messages.
	StopAfter int
	// FailuresWhileDown is how many failed attempts to wait for before the
	// broker starts again; default 3.
	FailuresWhileDown int
	// AttemptTimeout bounds each Publish, as the outbox drain's would;
	// default 2 s.
	AttemptTimeout time.Duration
	// Retry is the pause after a failed attempt; default 100 ms.
	Retry time.Duration
	// Deadline bounds the whole run; default 60 s.
	Deadline time.Duration
}

func (o *RestartOptions) defaults() {
	if o.Messages <= 0 {
		o.Messages = 60
	}
	if o.StopAfter <= 0 || o.StopAfter >= o.Messages {
		o.StopAfter = o.Messages / 3
	}
	if o.FailuresWhileDown <= 0 {
		o.FailuresWhileDown = 3
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 2 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 100 * time.Millisecond
	}
	if o.Deadline <= 0 {
		o.Deadline = 60 * time.Second
	}
}

// attemptSlack is how far past its context a Publish may return before the
// test calls it hung: scheduling, not waiting on the broker.
const attemptSlack = time.Second

// RunRestart publishes a stream of events, retrying each id until it is
// acknowledged as the outbox drain does, stops the broker after
// o.StopAfter acks, keeps publishing into the outage, starts the broker
// again and checks that every event arrived: exactly once when b.Dedup, at
// least once otherwise. After the restart it also republishes a few events
// that were acknowledged before the outage, as a drain that crashed before
// marking them sent would; a de-duplicating broker must drop them even though
// it restarted in between.
func RunRestart(t *testing.T, b Broker, o RestartOptions) {
	if b.Stop == nil || b.Start == nil {
		t.Skip("this broker cannot be stopped and started from the test")
	}
	o.defaults()
	d := b.NewDestination(t)
	p := d.NewPublisher(t)

	var mu sync.Mutex
	running := true
	t.Cleanup(func() {
		// Leave the broker running for whoever comes next, even when the
		// test failed half-way.
		mu.Lock()
		defer mu.Unlock()
		if !running {
			b.Start(t)
		}
	})

	run := NewRunID()
	msgs := make([]outgoing.Event, o.Messages)
	for i := range msgs {
		msgs[i] = NewMessage(fmt.Sprintf("%s-%03d", run, i), "io.vpngw.gateway.active", i)
	}

	var (
		statsMu     sync.Mutex
		failures    int
		firstErr    error
		maxAttempt  time.Duration
		lastFailure time.Time
		recoveredAt time.Time // first ack after a failure
	)
	publish := func(m outgoing.Event, deadline time.Time) error {
		for {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not acknowledged before the run's deadline", m.ID)
			}
			ctx, cancel := context.WithTimeout(context.Background(), o.AttemptTimeout)
			start := time.Now()
			err := p.Publish(ctx, m)
			took := time.Since(start)
			cancel()
			statsMu.Lock()
			maxAttempt = max(maxAttempt, took)
			if err == nil {
				if !lastFailure.IsZero() && recoveredAt.IsZero() {
					recoveredAt = time.Now()
				}
				statsMu.Unlock()
				return nil
			}
			failures++
			lastFailure = time.Now()
			if firstErr == nil {
				firstErr = err
			}
			statsMu.Unlock()
			if errors.Is(err, queue.ErrInvalidMessage) || errors.Is(err, queue.ErrClosed) {
				return err // retrying cannot help
			}
			time.Sleep(o.Retry)
		}
	}
	failed := func() int {
		statsMu.Lock()
		defer statsMu.Unlock()
		return failures
	}

	deadline := time.Now().Add(o.Deadline)
	reached := make(chan struct{})
	stopped := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i, m := range msgs {
			if err := publish(m, deadline); err != nil {
				done <- err
				return
			}
			if i+1 == o.StopAfter {
				close(reached)
				<-stopped
			}
		}
		done <- nil
	}()

	select {
	case <-reached:
	case err := <-done:
		t.Fatalf("publishing before the outage: %v", err)
	}
	mu.Lock()
	stopStart := time.Now()
	running = false
	b.Stop(t)
	stopTook := time.Since(stopStart)
	mu.Unlock()
	close(stopped)
	for failed() < o.FailuresWhileDown {
		if time.Now().After(deadline) {
			t.Fatalf("only %d publishes failed while the broker was down", failed())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	startStart := time.Now()
	b.Start(t)
	running = true
	startTook := time.Since(startStart)
	downFor := time.Since(stopStart)
	mu.Unlock()
	if err := <-done; err != nil {
		t.Fatalf("publishing through the outage: %v", err)
	}

	// Republish events acknowledged just before the outage.
	replay := msgs[max(0, o.StopAfter-3):o.StopAfter]
	for _, m := range replay {
		if err := publish(m, deadline); err != nil {
			t.Fatalf("republishing: %v", err)
		}
	}

	statsMu.Lock()
	recovery := recoveredAt.Sub(startStart)
	t.Logf("broker stop took %s, start took %s, down for %s; %d publish attempts failed (first: %v); "+
		"first ack %s after start began; slowest attempt %s",
		stopTook.Round(time.Millisecond), startTook.Round(time.Millisecond), downFor.Round(time.Millisecond),
		failures, firstErr, recovery.Round(time.Millisecond), maxAttempt.Round(time.Millisecond))
	if maxAttempt > o.AttemptTimeout+attemptSlack {
		t.Errorf("a Publish took %s with a %s context: it must give up when its context ends", maxAttempt, o.AttemptTimeout)
	}
	statsMu.Unlock()

	want := map[string][]byte{}
	for _, m := range msgs {
		want[m.ID] = m.Body
	}
	in := d.Consume(t)
	seen := map[string]int{}
	timeout := time.After(receiveTimeout)
	for len(seen) < len(want) {
		select {
		case r := <-in:
			body, ok := want[r.ID]
			if !ok {
				t.Fatalf("received unknown id %s", r.ID)
			}
			if !bytes.Equal(r.Body, body) {
				t.Fatalf("%s arrived with body %s, want %s", r.ID, r.Body, body)
			}
			seen[r.ID]++
		case <-timeout:
			var missing []string
			for id := range want {
				if seen[id] == 0 {
					missing = append(missing, id)
				}
			}
			t.Fatalf("lost %d of %d events after the restart: %v", len(missing), len(want), missing)
		}
	}
	// Pick up copies that arrive after the last new id.
	extra := time.After(500 * time.Millisecond)
drain:
	for {
		select {
		case r := <-in:
			seen[r.ID]++
		case <-extra:
			break drain
		}
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("%d events, all received; %d duplicate deliveries", len(want), dups)
	if b.Dedup {
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s received %d times, want exactly once (broker de-duplication)", id, n)
			}
		}
		return
	}
	for _, m := range replay {
		if seen[m.ID] < 2 {
			t.Errorf("republished %s received %d times; without broker de-duplication it must arrive again", m.ID, seen[m.ID])
		}
	}
}
