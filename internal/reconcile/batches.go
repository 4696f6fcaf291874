package reconcile

import (
	"context"
	"log/slog"
	"sync"
)

// batchRunner continues the open batches beside the watch, within one
// tick: continuing a batch creates its remaining items at the
// CreateVpnGateway quota, for up to most of the invocation, and the
// gateways the tick holds are leased to it, so no other tick checks them
// meanwhile; run in the watch's loop, it held their checks back until it
// was done. One run at a time: a request while one runs is not queued,
// the watch asks again at its next claim round (every claimEvery). Each
// run claims the batches it continues under the tick's owner, so no other
// tick continues them meanwhile, and the calls it makes go through the
// same limiters as every invocation's. A run that completed a batch
// publishes its summary at once, as the watch publishes what it settled.
// What the runs did is added to the tick's report by wait.
type batchRunner struct {
	s   *Service
	log *slog.Logger

	mu   sync.Mutex
	busy bool
	rep  Report // the runs' Batches, Published, Parked and Errors; written by one run at a time
	wg   sync.WaitGroup
}

// newBatchRunner is the tick's runner, nil when the service finishes no
// batches (every method of a nil runner does nothing).
func (s *Service) newBatchRunner(log *slog.Logger, owner string) *batchRunner {
	if s.batches == nil {
		return nil
	}
	return &batchRunner{s: s, log: log, rep: Report{Owner: owner}}
}

// start runs finishBatches in the background unless a run is going on.
func (b *batchRunner) start(ctx context.Context) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy {
		return
	}
	b.busy = true
	b.wg.Go(func() {
		// The run's writes to b.rep come before busy is cleared, under
		// mu, which the next start takes before it runs again.
		completed := b.rep.Batches
		b.s.finishBatches(ctx, b.log, &b.rep)
		if b.rep.Batches > completed && b.s.sched.Adaptive() && b.s.drainer != nil {
			// A batch whose last item a round settled is announced now,
			// as the item is, not when the tick ends (which drains
			// anyway when it checks once).
			b.s.drain(ctx, &b.rep)
		}
		b.mu.Lock()
		b.busy = false
		b.mu.Unlock()
	})
}

// running says whether a run is going on.
func (b *batchRunner) running() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.busy
}

// wait waits for the run going on, if any (each ends with the
// invocation, as FinishBatch keeps the provision reserve and finishBatches
// the tick's), and adds what the runs did to rep.
func (b *batchRunner) wait(rep *Report) {
	if b == nil {
		return
	}
	b.wg.Wait()
	rep.Batches += b.rep.Batches
	rep.Published += b.rep.Published
	rep.Parked += b.rep.Parked
	rep.Errors = append(rep.Errors, b.rep.Errors...)
	b.rep = Report{Owner: b.rep.Owner}
}
