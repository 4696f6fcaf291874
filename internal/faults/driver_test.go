package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// invokeFunc delivers a payload once. An error is a failed invocation, which
// the platform delivers again.
type invokeFunc func(ctx context.Context, payload []byte) error

// driver plays the platform: it delivers every payload, many at once, and
// delivers a payload again whenever its invocation failed (or never
// answered), with a growing, jittered pause, as Function Compute retries an
// asynchronous invocation, until it succeeds or maxAttempts is reached.
type driver struct {
	invoke      invokeFunc
	workers     int
	maxAttempts int
	// progress, if set, is called after each payload is done, with how many
	// are done; scenarios use it to inject a fault part-way through.
	progress func(done, total int)

	invocations atomic.Int64
	failed      atomic.Int64
	gaveUp      atomic.Int64
	errMu       sync.Mutex
	errSample   map[string]int // failure messages, trimmed, for the report
}

func (d *driver) run(ctx context.Context, payloads [][]byte) {
	d.errSample = map[string]int{}
	work := make(chan []byte)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range d.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				d.deliver(ctx, p)
				n := done.Add(1)
				if d.progress != nil {
					d.progress(int(n), len(payloads))
				}
			}
		}()
	}
	for _, p := range payloads {
		select {
		case work <- p:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
}

func (d *driver) deliver(ctx context.Context, payload []byte) {
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return
		}
		d.invocations.Add(1)
		err := d.invoke(ctx, payload)
		if err == nil {
			return
		}
		d.failed.Add(1)
		d.noteError(err)
		if attempt == d.maxAttempts {
			// The platform gives up; reconcile re-drives what is left.
			d.gaveUp.Add(1)
			return
		}
		pause := time.Duration(rand.Int64N(int64(min(500*time.Millisecond, 20*time.Millisecond<<min(attempt, 10)))))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return
		}
	}
}

func (d *driver) noteError(err error) {
	msg := hexRun.ReplaceAllString(err.Error(), "…")
	if i := strings.IndexAny(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	d.errMu.Lock()
	if len(d.errSample) < 20 || d.errSample[msg] > 0 {
		d.errSample[msg]++
	}
	d.errMu.Unlock()
}

// ticker runs reconcile ticks over and over on several goroutines (ticks
// may overlap, as timer invocations of several instances do).
type ticker struct {
	ticks, failed atomic.Int64
	redriven      atomic.Int64 // requests the ticks re-drove
	cancel        context.CancelFunc
	wg            sync.WaitGroup
}

func startTicker(every time.Duration, parallel int, tick func(ctx context.Context) (reconcile.Report, error)) *ticker {
	ctx, cancel := context.WithCancel(context.Background())
	tk := &ticker{cancel: cancel}
	for i := range parallel {
		tk.wg.Add(1)
		go func() {
			defer tk.wg.Done()
			// Stagger the goroutines so that their ticks overlap only now
			// and then.
			time.Sleep(time.Duration(i) * every / time.Duration(parallel))
			for ctx.Err() == nil {
				rep, err := tick(ctx)
				tk.ticks.Add(1)
				tk.redriven.Add(int64(rep.Redriven))
				if err != nil && ctx.Err() == nil {
					tk.failed.Add(1)
				}
				select {
				case <-time.After(every/2 + time.Duration(rand.Int64N(int64(every)))):
				case <-ctx.Done():
				}
			}
		}()
	}
	return tk
}

func (tk *ticker) stop() {
	tk.cancel()
	tk.wg.Wait()
}

// waitSettled waits until no request is received or pending and the outbox
// is empty, for at most bound. Store errors (a database restarting) are
// waited out. On timeout it describes what is left and why.
func waitSettled(ctx context.Context, st *sqlstore.Store, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	var lastErr error
	for {
		n, err := st.Count(ctx, store.Received, store.Pending)
		var unsent []store.Event
		if err == nil {
			unsent, err = st.Unsent(ctx, 1000)
		}
		if err == nil && n == 0 && len(unsent) == 0 {
			return nil
		}
		lastErr = err
		if time.Now().After(deadline) {
			if lastErr != nil {
				return fmt.Errorf("store did not answer within %s: %w", bound, lastErr)
			}
			stuck, _ := st.List(ctx, sqlstore.ListFilter{States: []store.State{store.Received, store.Pending}, Limit: 5})
			var b strings.Builder
			now := time.Now()
			for _, r := range stuck {
				fmt.Fprintf(&b, "\n  %s %s: attempts %d, last error %q, lease %q until %s (in %s)",
					r.EventID, r.State, r.Attempts, r.LastError, r.LeaseOwner,
					r.LeaseUntil.Format(time.RFC3339Nano), r.LeaseUntil.Sub(now).Round(time.Millisecond))
			}
			return fmt.Errorf("not settled within %s: %d requests received or pending, %d events unsent; first:%s",
				bound, n, len(unsent), b.String())
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// listAll reads every request record.
func listAll(ctx context.Context, st *sqlstore.Store) ([]store.Request, error) {
	var out []store.Request
	after := ""
	for {
		page, err := st.List(ctx, sqlstore.ListFilter{AfterKey: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 500 {
			return out, nil
		}
		after = page[len(page)-1].Key
	}
}

// hexRun matches request keys, ids and addresses, so that failures of the
// same kind are counted together.
var hexRun = regexp.MustCompile(`[0-9a-fA-F-]{16,}|req-[0-9-]+|127\.0\.0\.1:[0-9]+`)

var errNoAnswer = errors.New("invocation not answered in time (instance killed?)")
