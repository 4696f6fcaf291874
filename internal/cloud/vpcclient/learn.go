package vpcclient

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// RateBook keeps the rates learned from the API's throttling where every
// instance reads them (sqlstore.Store implements it on the functions'
// database).
type RateBook interface {
	LearnedRate(ctx context.Context, bucket string) (store.LearnedRate, bool, error)
	SetLearnedRate(ctx context.Context, bucket string, r store.LearnedRate) error
}

// Learning shapes how the client lowers a rate the API throttles and how it
// probes upwards again. The zero value of a field takes its default.
//
// The rule: when the API throttles a call under a rate of r calls a second
// and says to wait w (x-acs-retry-after, or the TimeLeft of
// x-ratelimit-user-api), the window it counts in (Window, or w when longer)
// ends w from now. The calls this client made in that window without being
// throttled, n, are at most what the quota allows, and so is r·(Window−w)
// when the client ran at r the whole window: the learned rate is Margin ×
// the lower of n/Window and r·(Window−w)/Window (r/2 when the answer named
// no wait). No call starts before the window ends. The learned rate is held
// for Hold, then raised by ProbeStep every ProbeEvery without a throttle,
// never above the configured rate (VPNGW_API_RATES). A throttle met while
// probing, at no lower a rate than was learned before (the quota is where
// it was), doubles the hold, up to MaxHold; so a steady quota is probed
// ever less often.
type Learning struct {
	Window     time.Duration // the API's quota window: a minute
	Margin     float64       // share of the estimate kept: 0.95
	Hold       time.Duration // before probing: 10 minutes
	MaxHold    time.Duration // the longest hold: 4 hours
	ProbeEvery time.Duration // one step up each: a minute
	ProbeStep  float64       // each step's rise: 0.10 (10%)
	Refresh    time.Duration // how long a rate read from the book is reused: 1 s
}

func (l Learning) withDefaults() Learning {
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	if !(l.Margin > 0 && l.Margin <= 1) {
		l.Margin = 0.95
	}
	if l.Hold <= 0 {
		l.Hold = 10 * time.Minute
	}
	if l.MaxHold < l.Hold {
		l.MaxHold = max(4*time.Hour, l.Hold)
	}
	if l.ProbeEvery <= 0 {
		l.ProbeEvery = time.Minute
	}
	if !(l.ProbeStep > 0) {
		l.ProbeStep = 0.10
	}
	if l.Refresh <= 0 {
		l.Refresh = time.Second
	}
	return l
}

// OnClock is l with its durations (Window, Hold, MaxHold, ProbeEvery; the
// defaults where unset) taken on an API whose clock runs speed times the
// wall clock, as an emulator's may: the client's waits are wall-clock
// time, so the API's minute is a minute ÷ speed of it. Refresh, this
// process's own, is kept.
func (l Learning) OnClock(speed float64) Learning {
	if !(speed > 0) || speed == 1 {
		return l
	}
	d := l.withDefaults()
	scale := func(x time.Duration) time.Duration { return time.Duration(float64(x) / speed) }
	d.Window, d.Hold, d.MaxHold, d.ProbeEvery = scale(d.Window), scale(d.Hold), scale(d.MaxHold), scale(d.ProbeEvery)
	d.Refresh = l.Refresh
	return d
}

// minLearned is the lowest rate learning sets: one call an hour, the lowest
// VPNGW_API_RATES takes.
const minLearned = 1.0 / 3600

// learner lowers and probes the rates of one client. Without a book it
// learns for this process alone.
type learner struct {
	book RateBook
	cfg  Learning
	log  *slog.Logger

	mu   sync.Mutex
	keys map[string]*learnedKey
}

type learnedKey struct {
	rate    store.LearnedRate
	has     bool
	fetched time.Time   // when rate was read from the book (zero: never)
	sent    []time.Time // starts of this process's calls the API did not throttle, oldest first
	// first is when this process began counting calls under the key: its
	// count says something of the quota only for a window it saw whole.
	first time.Time
}

func newLearner(book RateBook, cfg Learning, log *slog.Logger) *learner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &learner{book: book, cfg: cfg.withDefaults(), log: log, keys: map[string]*learnedKey{}}
}

// key returns key's state, read again from the book when it is older than
// Refresh. l.mu is held.
func (l *learner) keyLocked(ctx context.Context, key string, now time.Time) *learnedKey {
	k := l.keys[key]
	if k == nil {
		k = &learnedKey{first: now}
		l.keys[key] = k
	}
	if l.book != nil && now.Sub(k.fetched) >= l.cfg.Refresh {
		r, ok, err := l.book.LearnedRate(ctx, key)
		if err == nil {
			k.rate, k.has, k.fetched = r, ok, now
		}
		// On an error the rate known here holds until the book answers.
	}
	return k
}

// rate is the rate in force for key at now, and the instant before which no
// call may start.
func (l *learner) rate(ctx context.Context, key string, configured float64, now time.Time) (float64, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keyLocked(ctx, key, now)
	if !k.has {
		return configured, time.Time{}
	}
	return l.effective(k.rate, configured, now), k.rate.ResumeAt
}

// effective is r probed upwards to now, never above configured.
func (l *learner) effective(r store.LearnedRate, configured float64, now time.Time) float64 {
	rate := r.PerSec
	if probing := now.Sub(r.Since.Add(r.Hold)); probing >= 0 {
		steps := float64(probing/l.cfg.ProbeEvery) + 1
		rate *= math.Pow(1+l.cfg.ProbeStep, steps)
	}
	return min(rate, configured)
}

// sent records a call under key that the API did not throttle.
func (l *learner) sent(key string, start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		k = &learnedKey{first: start}
		l.keys[key] = k
	}
	// Keep what the longest window could count, and not without bound.
	keep := start.Add(-4 * l.cfg.Window)
	i := 0
	for i < len(k.sent) && k.sent[i].Before(keep) {
		i++
	}
	k.sent = append(k.sent[i:], start)
	if len(k.sent) > maxRemembered {
		k.sent = k.sent[len(k.sent)-maxRemembered:]
	}
}

// maxRemembered bounds the call starts kept per key.
const maxRemembered = 20000

// throttled learns from a throttling answer to a call under key that ran at
// rate (the rate in force when it started); wait is what the answer said
// (0: nothing). It returns the instant calls may resume.
func (l *learner) throttled(ctx context.Context, key string, rate, configured float64, wait time.Duration, now time.Time) time.Time {
	l.mu.Lock()
	k := l.keyLocked(ctx, key, now)
	window := max(l.cfg.Window, wait)
	start := now.Add(wait - window)
	resume := now.Add(wait)
	if k.has && !k.rate.Since.Before(start) {
		// Already learned from this window (another call of this
		// process, or another instance): only wait for its end.
		resume = later(resume, k.rate.ResumeAt)
		l.mu.Unlock()
		return resume
	}
	n := 0
	for _, t := range k.sent {
		if !t.Before(start) && !t.After(now) {
			n++
		}
	}
	est := rate / 2
	if wait > 0 {
		est = rate * (window - wait).Seconds() / window.Seconds()
		if n > 0 && !k.first.After(start.Add(window/4)) {
			// Only a window this process saw (nearly) whole: one it joined
			// late counts none of the calls before it, and a fresh instance
			// that made one call would learn one call a window.
			est = min(est, float64(n)/window.Seconds())
		}
	}
	lowered := max(min(est, rate)*l.cfg.Margin, minLearned)
	hold := l.cfg.Hold
	if k.has && !now.Before(k.rate.Since.Add(k.rate.Hold)) && lowered >= k.rate.PerSec*l.cfg.Margin {
		// A probe went past a quota that has not moved: probe less often.
		hold = min(2*k.rate.Hold, l.cfg.MaxHold)
	}
	r := store.LearnedRate{PerSec: lowered, Since: now, ResumeAt: resume, Hold: hold}
	k.rate, k.has = r, true
	l.mu.Unlock()

	l.log.WarnContext(ctx, "API throttled below the configured rate: rate lowered for every instance",
		"bucket", key, "configured_per_s", configured, "was_per_s", rate, "now_per_s", lowered,
		"calls_in_window", n, "wait", wait, "hold", hold)
	if l.book != nil {
		if err := l.book.SetLearnedRate(ctx, key, r); err != nil {
			l.log.WarnContext(ctx, "learned API rate not shared; this instance keeps it", "bucket", key, "err", err)
		}
	}
	return resume
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Rate is the rate in force for action in region, in calls a second: the
// configured one (VPNGW_API_RATES), or lower while a rate learned from
// throttling holds; 0 when calls are not limited.
func (c *Client) Rate(ctx context.Context, region, action string) float64 {
	configured := c.cfg.Rates[action]
	if configured <= 0 {
		return 0
	}
	r, _ := c.learn.rate(ctx, region+"/"+action, configured, time.Now())
	return r
}
