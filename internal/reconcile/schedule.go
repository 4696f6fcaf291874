package reconcile

import (
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// Schedule decides, within one tick, when each pending gateway is checked
// next. A gateway is checked every Young while it is new, and less often as
// it ages, linearly up to every Old at Ramp and after: gateways usually take
// one to a few minutes, and an early gateway that is announced late costs
// as much as a late one. The zero Schedule checks once per tick, at the
// timer's cadence (what every tick did before it learnt to stay).
type Schedule struct {
	Young time.Duration
	Old   time.Duration
	Ramp  time.Duration
}

// DefaultSchedule checks a new gateway every 2 s, one 2.5 minutes old every
// 6 s, and one 5 minutes old or older every 10 s. A gateway that turns
// active between two checks is announced at the second: on average half an
// interval later (at most 10 s), plus recording and publishing.
var DefaultSchedule = Schedule{Young: 2 * time.Second, Old: 10 * time.Second, Ramp: 5 * time.Minute}

// OneCheckPerTick is the zero Schedule: each tick checks what it claimed
// once, and the next check comes with the next tick.
var OneCheckPerTick = Schedule{}

// Adaptive reports whether a tick keeps checking after its first round.
func (s Schedule) Adaptive() bool { return s.Young > 0 }

// Interval is the time from one check of a gateway of this age to the
// next.
func (s Schedule) Interval(age time.Duration) time.Duration {
	if !s.Adaptive() {
		return 0
	}
	old := max(s.Old, s.Young)
	if s.Ramp <= 0 || age >= s.Ramp {
		return old
	}
	age = max(age, 0)
	return s.Young + time.Duration(float64(old-s.Young)*float64(age)/float64(s.Ramp))
}

// agenda is what one tick holds: the pending requests it claimed and when
// each is checked next.
type agenda struct {
	sched Schedule
	reqs  map[string]store.Request
	next  map[string]time.Time
}

func newAgenda(s Schedule) *agenda {
	return &agenda{sched: s, reqs: map[string]store.Request{}, next: map[string]time.Time{}}
}

// add takes a request the tick claimed. What the tick claims first is
// checked at once, whatever its age, as every tick always did (the
// invocation may have time for one check only); a request that became
// pending while the tick runs is first checked one young interval after it
// was accepted.
func (a *agenda) add(r store.Request, first bool, now time.Time) {
	a.reqs[r.Key] = r
	if first {
		a.next[r.Key] = now
		return
	}
	a.next[r.Key] = r.AcceptedAt.Add(a.sched.Interval(0))
}

func (a *agenda) len() int { return len(a.reqs) }

// due is what the round at now checks: the requests whose check has come,
// and with them the other requests of their regions whose check would come
// within half their interval, so that gateways created a little apart share
// one listing from then on instead of each costing one of its own.
func (a *agenda) due(now time.Time) []store.Request {
	regions := map[string]bool{}
	for k, t := range a.next {
		if !t.After(now) {
			regions[a.reqs[k].RegionID] = true
		}
	}
	var out []store.Request
	for k, r := range a.reqs {
		if !regions[r.RegionID] {
			continue
		}
		half := a.sched.Interval(now.Sub(r.AcceptedAt)) / 2
		if !a.next[k].After(now.Add(half)) {
			out = append(out, r)
		}
	}
	return out
}

// checked records the round at now: the settled requests leave the agenda,
// the others are checked again one interval (by their age) later.
func (a *agenda) checked(checked []store.Request, unsettled []string, now time.Time) {
	left := make(map[string]bool, len(unsettled))
	for _, k := range unsettled {
		left[k] = true
	}
	for _, r := range checked {
		if !left[r.Key] {
			delete(a.reqs, r.Key)
			delete(a.next, r.Key)
			continue
		}
		a.next[r.Key] = now.Add(a.sched.Interval(now.Sub(r.AcceptedAt)))
	}
}

// wake is the earliest next check (zero when the agenda is empty).
func (a *agenda) wake() time.Time {
	var w time.Time
	for _, t := range a.next {
		if w.IsZero() || t.Before(w) {
			w = t
		}
	}
	return w
}

// keys are every request the agenda holds.
func (a *agenda) keys() []string {
	out := make([]string, 0, len(a.reqs))
	for k := range a.reqs {
		out = append(out, k)
	}
	return out
}
