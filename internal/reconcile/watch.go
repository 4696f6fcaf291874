package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vpngw/vpngw/internal/pause"
	"github.com/vpngw/vpngw/internal/store"
)

// Slots is the queue of call starts the checks' share of the
// DescribeVpnGateways quota is kept in, shared by every instance that uses
// the same store (sqlstore.Store.ReserveSlot).
type Slots interface {
	// ReserveSlot reserves the next start under bucket, at least interval
	// after the one before, unless it is after latest; it returns how long
	// from now (the store's clock) the start is and whether it was reserved.
	ReserveSlot(ctx context.Context, bucket string, interval time.Duration, latest time.Time) (time.Duration, bool, error)
}

// ShareBucket is the slot bucket of the checks' share of region's
// DescribeVpnGateways quota.
func ShareBucket(region string) string { return "reconcile/" + region + "/DescribeVpnGateways" }

// claimEvery is how often a tick that keeps checking looks for requests
// that became pending since it started.
const claimEvery = 2 * time.Second

// stoppedShare is Report.Stopped when the checks' share of the quota had
// no call start left before the deadline.
const stoppedShare = "the checks' share of the DescribeVpnGateways quota is used up until the deadline"

// errNoSlot is pace's answer when the next call start of the share is
// after the tick's end.
var errNoSlot = errors.New("no call start left in the checks' share before the deadline")

// watch claims the pending requests and checks them, round after round on
// the schedule, while any is pending and the invocation lasts; each round
// takes up requests that became pending meanwhile and publishes what it
// settled at once. With OneCheckPerTick, or limited to some regions, it
// makes one round. What it still holds at the end is released for the next
// tick. Batches are continued beside it, by batches (nil: none), which it
// asks at each claim round and after each round that settled something.
func (s *Service) watch(ctx context.Context, log *slog.Logger, rep *Report, want map[string]bool, batches *batchRunner) {
	ag := newAgenda(s.sched, func(region string) time.Duration { return s.learnWait(ctx, log, region) })
	var elsewhere []string // claimed, in regions this tick does not check
	defer func() {
		if held := append(ag.keys(), elsewhere...); len(held) > 0 {
			if err := s.store.Release(ctx, rep.Owner, held); err != nil {
				// The leases expire on their own; the next tick after that
				// picks the requests up.
				rep.Errors = append(rep.Errors, "release: "+err.Error())
			}
		}
	}()
	end := s.end(ctx)
	claimedAt := time.Time{}
	for round := 0; ; round++ {
		if why := s.outOfTime(ctx); why != "" {
			rep.Stopped = why
			return
		}
		now := s.now()
		if round == 0 || !now.Before(claimedAt.Add(claimEvery)) {
			claimedAt = now
			if !s.claimPending(ctx, rep, ag, &elsewhere, want, round == 0, now) {
				return
			}
			// A batch an invocation left (its deadline came first) goes on
			// at once, not after the checking ends near the deadline, and
			// beside the checks, which keep their schedule while it
			// creates the items left (for up to most of the invocation).
			if round > 0 {
				batches.start(ctx)
			}
		}
		// A tick with nothing pending stays while it continues a batch,
		// to check the items it creates, or for a batch held elsewhere.
		if ag.len() == 0 && !batches.running() && !s.batchHeldElsewhere(ctx, rep, end) {
			return
		}
		if due := ag.due(now); len(due) > 0 {
			errs := len(rep.Errors)
			rep.StillPending = 0
			unsettled := s.check(ctx, log, rep, due, nil)
			rep.Checks++
			// The next check counts from this one's start: a check that
			// waited for its share's call starts is not followed by a
			// whole interval more.
			ag.checked(due, unsettled, now)
			if len(unsettled) < len(due) {
				s.settled(ctx, rep, batches)
			}
			if len(rep.Errors) > errs || rep.Stopped != "" {
				// The client already retried what could pass; the next
				// tick tries again.
				return
			}
		}
		if !s.sched.Adaptive() || len(want) > 0 {
			// A tick limited to some regions (an operator's invocation)
			// makes one round, as before: staying would hold the other
			// regions' requests it claimed from every other tick.
			return
		}
		rep.StillPending = ag.len()
		wake := min2(ag.wake(), claimedAt.Add(claimEvery))
		if wake.After(end) {
			return
		}
		if err := s.sleep(ctx, wake.Sub(s.now())); err != nil {
			rep.Stopped = "context done"
			return
		}
	}
}

// claimPending claims requests that are pending and unleased, up to
// maxClaim held at once, into the agenda; the ones of regions the tick does
// not check are held apart so that no round claims them again. It reports
// whether the tick can go on.
func (s *Service) claimPending(ctx context.Context, rep *Report, ag *agenda, elsewhere *[]string, want map[string]bool, first bool, now time.Time) bool {
	for ag.len()+len(*elsewhere) < s.maxClaim {
		batch, err := s.store.Claim(ctx, []store.State{store.Pending}, rep.Owner, s.now(), s.leaseFor(ctx), min(s.batch, s.maxClaim-ag.len()-len(*elsewhere)))
		if err != nil {
			rep.Errors = append(rep.Errors, "claim: "+err.Error())
			return false
		}
		for _, r := range batch {
			if len(want) > 0 && !want[r.RegionID] {
				*elsewhere = append(*elsewhere, r.Key)
				continue
			}
			ag.add(r, first, now)
		}
		rep.Claimed += len(batch)
		if len(batch) < s.batch {
			return true
		}
		if why := s.outOfTime(ctx); why != "" {
			rep.Stopped = why
			return true
		}
	}
	return true
}

// History is what the schedule learns from (store.Provisioned): how long
// the region's recent gateways took from acceptance to Active.
type History interface {
	ProvisionTimes(ctx context.Context, region string, since time.Time, limit int) ([]time.Duration, error)
}

// WithHistory lets an adaptive schedule with Schedule.Alone learn, per
// region and once a tick, when its gateways are worth a first check
// (Schedule.LearnedWait).
func WithHistory(h History) Option { return func(s *Service) { s.history = h } }

// learnWait is region's learned wait, zero when the schedule learns
// nothing or the history cannot be read (the schedule by age, as without
// one: a tick does not stop for it).
func (s *Service) learnWait(ctx context.Context, log *slog.Logger, region string) time.Duration {
	if s.history == nil || !s.sched.Learns() {
		return 0
	}
	times, err := s.history.ProvisionTimes(ctx, region, s.now().Add(-LearnWithin), LearnSamples)
	if err != nil {
		log.WarnContext(ctx, "cannot read the region's provisioning times; its gateways are checked by age", "region", region, "err", err.Error())
		return 0
	}
	w := s.sched.LearnedWait(times)
	log.DebugContext(ctx, "learned wait", "region", region, "samples", len(times), "wait", w.String())
	return w
}

// settled runs after a round that settled requests, when the schedule
// keeps the tick going: the outcomes are published now, not at the end of
// the tick, and a batch whose last item settled is completed (beside the
// checks; when a run is going on, at the next claim round's).
func (s *Service) settled(ctx context.Context, rep *Report, batches *batchRunner) {
	if !s.sched.Adaptive() {
		return // the tick's end does both
	}
	batches.start(ctx)
	if s.drainer != nil {
		s.drain(ctx, rep)
	}
}

// drain publishes the outbox and adds what it did to the report.
func (s *Service) drain(ctx context.Context, rep *Report) {
	dr, err := s.drainer.Drain(ctx)
	rep.Published += dr.Published
	rep.Parked += dr.Parked
	if err != nil {
		rep.Errors = append(rep.Errors, "publish: "+err.Error())
	}
}

// end is when the tick stops checking, on its clock: the reserve before
// the invocation's deadline, and within the lease of what it claimed first.
func (s *Service) end(ctx context.Context) time.Time {
	budget := s.lease
	if left, ok := s.left(ctx); ok {
		budget = min(budget, left)
	}
	return s.now().Add(budget - s.reserve)
}

// pace waits for the next call start of the checks' share of region's
// quota, when the schedule is adaptive and a share is set; errNoSlot when
// it would come after the tick's end.
func (s *Service) pace(ctx context.Context, region string) error {
	if !s.sched.Adaptive() || s.slots == nil || s.share <= 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / s.share)
	wait, ok, err := s.slots.ReserveSlot(ctx, ShareBucket(region), interval, s.end(ctx))
	if err != nil {
		return fmt.Errorf("reserve a call start in the checks' share: %w", err)
	}
	if !ok {
		return errNoSlot
	}
	return s.sleep(ctx, wait)
}

// SleepWall waits d of wall-clock time, or until ctx ends: how a tick
// waits unless WithTimer says otherwise.
func SleepWall(ctx context.Context, d time.Duration) error {
	return pause.For(ctx, d)
}

// min2 is the earlier of a and b, a zero a counting as none.
func min2(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
