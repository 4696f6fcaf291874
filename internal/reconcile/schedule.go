package reconcile

import (
	"slices"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// Schedule decides, within one tick, when each pending gateway is checked
// next. A gateway is checked every Young while it is new, and less often as
// it ages, linearly up to every Old at Ramp and after: gateways usually take
// one to a few minutes, and an early gateway that is announced late costs
// as much as a late one. The zero Schedule checks once per tick, at the
// timer's cadence (what every tick did before it learnt to stay).
//
// With Alone set, the schedule also learns from the region's history
// (LearnedWait): a create request is not checked before the wait its
// region's recent gateways say none turns active sooner, and from then on
// a check whose call serves it alone comes every Alone (a call serving m
// pending gateways of the region, every Alone/m), never more often than
// by age. A check costs one call whether it serves one gateway or fifty:
// checking a gateway alone every 2 s from its first second costs about
// three times the calls of a poller asking every 20 s, for gateways that
// take a minute at least.
type Schedule struct {
	Young time.Duration
	Old   time.Duration
	Ramp  time.Duration
	// Alone is the interval between checks of a gateway past its learned
	// wait, when its check's call serves it alone; zero learns nothing and
	// checks by age only.
	Alone time.Duration
}

// DefaultSchedule checks a new gateway every 2 s, one 2.5 minutes old every
// 6 s, and one 5 minutes old or older every 10 s. A gateway that turns
// active between two checks is announced at the second: on average half an
// interval later (at most 10 s), plus recording and publishing. Where the
// region's history tells when its gateways turn active at the soonest, a
// gateway is first checked then, and a lone one every 9 s after.
var DefaultSchedule = Schedule{Young: 2 * time.Second, Old: 10 * time.Second, Ramp: 5 * time.Minute, Alone: 9 * time.Second}

// OneCheckPerTick is the zero Schedule: each tick checks what it claimed
// once, and the next check comes with the next tick.
var OneCheckPerTick = Schedule{}

// Adaptive reports whether a tick keeps checking after its first round.
func (s Schedule) Adaptive() bool { return s.Young > 0 }

// Learns reports whether the schedule waits for what the region's history
// says (LearnedWait).
func (s Schedule) Learns() bool { return s.Adaptive() && s.Alone > 0 }

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

// What LearnedWait learns from, and how far it trusts it.
const (
	// LearnSamples is how many of the region's newest settled creates are
	// read, from within LearnWithin; with fewer than learnMin, nothing is
	// learned (the schedule by age alone).
	LearnSamples = 40
	LearnWithin  = 7 * 24 * time.Hour
	learnMin     = 5
	// learnMargin is taken off the learned time: the history says when
	// the checks saw a gateway active, which is up to one interval after
	// it was. It also lets the wait come down when gateways get faster:
	// one that turned active before the wait is seen at the wait, and
	// once such times are the fastest 5% (with 40 times, the three
	// fastest), the wait is learnMargin sooner. A slower history comes
	// down that way only a few gateways at a time.
	learnMargin = 5 * time.Second
	// learnCap bounds the wait: a history whose fastest times, less the
	// margin, reach it (as one written while reconcile was stopped for an
	// hour, which says every gateway took an hour) teaches nothing, and
	// the schedule goes by age until faster times come in.
	learnCap = 3 * time.Minute
)

// LearnedWait is how long after acceptance a create request of a region is
// first checked, from its region's recent provisioning times (as
// store.Provisioned gives them): the fastest 5% of them (the fastest of
// fewer than 40) less learnMargin, below learnCap; zero (check at once,
// by age) with fewer than learnMin times or a wait that reaches learnCap. Taking the 5th percentile rather
// than the fastest leaves out a rare early one, and puts the wait where
// the goal wants it: a gateway active before the wait (about one in
// twenty) waits for it, up to a few seconds more than an interval; the
// others are announced within an interval.
func (s Schedule) LearnedWait(times []time.Duration) time.Duration {
	if !s.Learns() || len(times) < learnMin {
		return 0
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	w := sorted[len(sorted)/20] - learnMargin
	if w >= learnCap {
		// Not a wait to keep: each gateway first checked at it would
		// be recorded there and keep it up, long after the slow hour
		// that wrote it. By age until faster times come in.
		return 0
	}
	return max(w, 0)
}

// perCall is how many gateways one DescribeVpnGateways call lists.
const perCall = 50

// agenda is what one tick holds: the pending requests it claimed and when
// each is checked next.
type agenda struct {
	sched Schedule
	reqs  map[string]store.Request
	next  map[string]time.Time
	// waits are the learned waits of the regions (LearnedWait), known
	// once learn was asked; inRegion counts the requests held per region.
	waits    map[string]time.Duration
	inRegion map[string]int
	learn    func(region string) time.Duration
}

// newAgenda makes a tick's agenda; learn is asked, once per region, for
// the region's learned wait.
func newAgenda(s Schedule, learn func(region string) time.Duration) *agenda {
	return &agenda{sched: s, reqs: map[string]store.Request{}, next: map[string]time.Time{},
		waits: map[string]time.Duration{}, inRegion: map[string]int{}, learn: learn}
}

// wait is r's learned wait: its region's, for a create request; zero for
// a delete (deleting takes its own time) or when nothing is learned.
func (a *agenda) wait(r store.Request) time.Duration {
	if r.Kind != store.KindCreate || !a.sched.Learns() || a.learn == nil {
		return 0
	}
	w, ok := a.waits[r.RegionID]
	if !ok {
		w = a.learn(r.RegionID)
		a.waits[r.RegionID] = w
	}
	return w
}

// interval is the time from a check of r at now to the next: by its age,
// and, past a learned wait, at least Alone shared among the gateways of
// its region one call lists.
func (a *agenda) interval(r store.Request, now time.Time) time.Duration {
	d := a.sched.Interval(now.Sub(r.AcceptedAt))
	if a.wait(r) > 0 {
		m := min(max(a.inRegion[r.RegionID], 1), perCall)
		d = max(d, a.sched.Alone/time.Duration(m))
	}
	return d
}

// notBefore is the earliest check of r: its acceptance plus its learned
// wait.
func (a *agenda) notBefore(r store.Request) time.Time { return r.AcceptedAt.Add(a.wait(r)) }

// add takes a request the tick claimed. What the tick claims first is
// checked at once, whatever its age, as every tick always did (the
// invocation may have time for one check only); a request that became
// pending while the tick runs is first checked one young interval after it
// was accepted. Neither is checked before its learned wait.
func (a *agenda) add(r store.Request, first bool, now time.Time) {
	if _, held := a.reqs[r.Key]; !held {
		a.inRegion[r.RegionID]++
	}
	a.reqs[r.Key] = r
	at := now
	if !first {
		at = r.AcceptedAt.Add(a.sched.Interval(0))
	}
	a.next[r.Key] = later(at, a.notBefore(r))
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (a *agenda) len() int { return len(a.reqs) }

// due is what the round at now checks: the requests whose check has come,
// and with them the other requests of their regions whose check would come
// within half their interval, so that gateways created a little apart share
// one listing from then on instead of each costing one of its own. When
// the calls a region's check makes anyway (one per 50 gateways) have room
// for every request of the region, all ride along: a gateway not yet at
// its learned wait that turned active early is seen at the next check of
// its region, not at its wait.
func (a *agenda) due(now time.Time) []store.Request {
	regions := map[string]bool{}
	for k, t := range a.next {
		if !t.After(now) {
			regions[a.reqs[k].RegionID] = true
		}
	}
	soon, rest := map[string][]store.Request{}, map[string][]store.Request{}
	for k, r := range a.reqs {
		if !regions[r.RegionID] {
			continue
		}
		half := a.interval(r, now) / 2
		if !a.next[k].After(now.Add(half)) {
			soon[r.RegionID] = append(soon[r.RegionID], r)
		} else {
			rest[r.RegionID] = append(rest[r.RegionID], r)
		}
	}
	var out []store.Request
	for region, rs := range soon {
		out = append(out, rs...)
		if calls := (len(rs) + perCall - 1) / perCall; len(rs)+len(rest[region]) <= calls*perCall {
			out = append(out, rest[region]...)
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
			a.inRegion[r.RegionID]--
		}
	}
	for _, r := range checked {
		if left[r.Key] {
			a.next[r.Key] = later(now.Add(a.interval(r, now)), a.notBefore(r))
		}
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
