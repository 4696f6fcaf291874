package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// RunShared runs the part of the contract that must hold across instances.
// open is called once per subtest and must return n stores on one fresh,
// empty database (a file, schema or database of the subtest's own), as n
// function instances would hold, closed by open's own t.Cleanup.
func RunShared(t *testing.T, open func(t *testing.T, n int) []store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, stores []store.Store)
	}{
		{"InsertWithinAcrossStores", testInsertWithinAcrossStores},
		{"LearnedRateAcrossStores", testLearnedRateAcrossStores},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t, 4))
		})
	}
}

// quotaRequest is a request of source with key, in state st, accepted at
// accepted (zero: never).
func quotaRequest(t *testing.T, s store.Store, source, key string, st store.State, accepted time.Time) {
	t.Helper()
	ctx := context.Background()
	r := request(key, base.Add(-48*time.Hour))
	r.Source = source
	if st != store.Pending && st != store.Active && !(st == store.Failed && !accepted.IsZero()) {
		r.State = st
		mustInsert(t, s, r)
		return
	}
	mustInsert(t, s, r)
	if _, err := s.Transition(ctx, key, []store.State{store.Received}, store.Pending, "", store.Change{AcceptedAt: accepted, GatewayID: "vpn-" + key}, nil); err != nil {
		t.Fatal(err)
	}
	if st != store.Pending {
		if _, err := s.Transition(ctx, key, []store.State{store.Pending}, st, "", store.Change{}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// testInsertWithin checks what the quota counts, that a refusal writes
// nothing and says what it counted, and that a recorded request never counts
// against itself.
func testInsertWithin(t *testing.T, s store.Store) {
	ctx := context.Background()
	since := base.Add(-24 * time.Hour)
	const src = "acs:quota"
	// Counted by both bounds: received, pending.
	quotaRequest(t, s, src, "q-received", store.Received, time.Time{})
	quotaRequest(t, s, src, "q-pending", store.Pending, base.Add(-time.Hour))
	// Counted by the per-day bound only: accepted inside the window.
	quotaRequest(t, s, src, "q-active", store.Active, base.Add(-2*time.Hour))
	quotaRequest(t, s, src, "q-failed-provisioning", store.Failed, base.Add(-3*time.Hour))
	quotaRequest(t, s, src, "q-active-at-window-start", store.Active, since)
	// Not counted: accepted before the window, never reached the API, dry
	// runs, batch records, other sources.
	quotaRequest(t, s, src, "q-active-yesterday", store.Active, since.Add(-time.Microsecond))
	quotaRequest(t, s, src, "q-refused", store.Failed, time.Time{})
	quotaRequest(t, s, src, "q-dry-run", store.DryRun, time.Time{})
	quotaRequest(t, s, src, "q-batch", store.Batch, time.Time{})
	quotaRequest(t, s, "acs:other", "q-other", store.Received, time.Time{})
	const perDay, pending = 5, 2

	next := func(key string) store.Request {
		r := request(key, base)
		r.Source = src
		return r
	}
	refused := func(key string, q store.Quota, wantPerDay, wantPending bool) {
		t.Helper()
		got, created, err := s.InsertWithin(ctx, next(key), []store.Event{event(key, "ev-"+key)}, q)
		var qe *store.QuotaError
		if !errors.As(err, &qe) {
			t.Fatalf("InsertWithin(%s, %+v) = %v, %v, %v; want a *store.QuotaError", key, q, got.State, created, err)
		}
		// Each count is reported for the bound the quota sets.
		wantDay, wantPend := 0, 0
		if q.PerDay > 0 {
			wantDay = perDay
		}
		if q.Pending > 0 {
			wantPend = pending
		}
		if qe.Source != src || qe.PerDay != wantDay || qe.Pending != wantPend || qe.Quota != q ||
			qe.PerDayExceeded() != wantPerDay || qe.PendingExceeded() != wantPending {
			t.Errorf("QuotaError %+v (per day exceeded %t, pending exceeded %t); want source %s, counts %d per day and %d pending, exceeded %t and %t",
				*qe, qe.PerDayExceeded(), qe.PendingExceeded(), src, wantDay, wantPend, wantPerDay, wantPending)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused request was recorded: Get = %v", err)
		}
	}
	refused("q-over-day", store.Quota{PerDay: perDay, Since: since}, true, false)
	refused("q-over-pending", store.Quota{Pending: pending}, false, true)
	refused("q-over-both", store.Quota{PerDay: perDay, Since: since, Pending: pending}, true, true)
	if evs := unsentAll(t, s); len(evs) != 0 {
		t.Errorf("refusals wrote outbox events %v", ids(evs))
	}

	// A recorded request checked again leaves itself out of the counts.
	check := func(key string, q store.Quota, wantPerDay, wantPending int) {
		t.Helper()
		err := s.CheckQuota(ctx, key, q)
		var qe *store.QuotaError
		switch {
		case wantPerDay < 0 && wantPending < 0:
			if err != nil {
				t.Errorf("CheckQuota(%s, %+v) = %v; want room", key, q, err)
			}
		case !errors.As(err, &qe):
			t.Errorf("CheckQuota(%s, %+v) = %v; want a *store.QuotaError", key, q, err)
		case qe.PerDay != max(wantPerDay, 0) || qe.Pending != max(wantPending, 0):
			t.Errorf("CheckQuota(%s, %+v) counted %d per day and %d pending; want %d and %d", key, q, qe.PerDay, qe.Pending, max(wantPerDay, 0), max(wantPending, 0))
		}
	}
	check("q-received", store.Quota{Pending: pending}, -1, -1)
	check("q-received", store.Quota{Pending: pending - 1}, -1, pending-1)
	check("q-received", store.Quota{PerDay: perDay, Since: since}, -1, -1)
	check("q-received", store.Quota{PerDay: perDay - 1, Since: since}, perDay-1, -1)
	check("q-dry-run", store.Quota{Pending: pending}, -1, pending) // not counted, so nothing to leave out
	check("q-dry-run", store.Quota{}, -1, -1)
	if err := s.CheckQuota(ctx, "q-missing", store.Quota{Pending: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CheckQuota of a missing request = %v; want ErrNotFound", err)
	}
	if evs := unsentAll(t, s); len(evs) != 0 {
		t.Errorf("CheckQuota wrote outbox events %v", ids(evs))
	}

	// One under both bounds: recorded, with its events.
	got, created, err := s.InsertWithin(ctx, next("q-fits"), []store.Event{event("q-fits", "ev-fits")},
		store.Quota{PerDay: perDay + 1, Since: since, Pending: pending + 1})
	if err != nil || !created || got.State != store.Received {
		t.Fatalf("InsertWithin under the quota = %v, %v, %v; want created", got.State, created, err)
	}
	if evs := ids(unsentAll(t, s)); len(evs) != 1 || evs[0] != "ev-fits" {
		t.Errorf("outbox %v, want the recorded request's event", evs)
	}
	// Recorded requests answer from their record, however full the quota.
	for _, key := range []string{"q-fits", "q-received", "q-dry-run"} {
		got, created, err := s.InsertWithin(ctx, next(key), nil, store.Quota{PerDay: 1, Since: since, Pending: 1})
		if err != nil || created || got.Key != key {
			t.Errorf("InsertWithin of the recorded %s = %s, %v, %v; want its record, not created", key, got.Key, created, err)
		}
	}
	// No quota is Insert.
	if _, created, err := s.InsertWithin(ctx, next("q-free"), nil, store.Quota{}); err != nil || !created {
		t.Errorf("InsertWithin with no quota = %v, %v; want created", created, err)
	}
	// Another source has quotas of its own.
	other := request("q-other-2", base)
	other.Source = "acs:other"
	if _, created, err := s.InsertWithin(ctx, other, nil, store.Quota{Pending: 2, PerDay: 2, Since: since}); err != nil || !created {
		t.Errorf("InsertWithin for another source = %v, %v; want created", created, err)
	}
	// A per-day bound needs its window.
	if _, _, err := s.InsertWithin(ctx, next("q-no-since"), nil, store.Quota{PerDay: 1}); err == nil || errors.As(err, new(*store.QuotaError)) {
		t.Errorf("InsertWithin with PerDay and no Since = %v; want an error that is not a refusal", err)
	}
}

// raceQuota has workers record a request each of one source at the same
// moment, spread over stores, under q, and checks that exactly want were
// recorded and every other was refused.
func raceQuota(t *testing.T, stores []store.Store, source string, workers int, q store.Quota, want int) {
	t.Helper()
	ctx := context.Background()
	var (
		mu      sync.Mutex
		created []string
		refused int
		rs      = make([]store.Request, workers)
	)
	for w := range rs {
		rs[w] = request(fmt.Sprintf("%s-%02d", source, w), base)
		rs[w].Source = source
	}
	atOnce(workers, func(w int) {
		r := rs[w]
		_, ok, err := stores[w%len(stores)].InsertWithin(ctx, r, []store.Event{event(r.Key, "ev-"+r.Key)}, q)
		mu.Lock()
		defer mu.Unlock()
		var qe *store.QuotaError
		switch {
		case errors.As(err, &qe):
			refused++
		case err != nil:
			t.Errorf("worker %d: InsertWithin: %v", w, err)
		case ok:
			created = append(created, r.Key)
		default:
			t.Errorf("worker %d: a new key was not created", w)
		}
	})
	if len(created) != want || refused != workers-want {
		t.Errorf("%s under %+v: %d recorded %v and %d refused; want %d recorded and %d refused",
			source, q, len(created), created, refused, want, workers-want)
	}
	var events int
	for _, e := range unsentAll(t, stores[0]) {
		if strings.HasPrefix(e.RequestKey, source+"-") {
			events++
		}
	}
	if events != len(created) {
		t.Errorf("%s: %d outbox events, want one per recorded request (%d)", source, events, len(created))
	}
}

// testInsertWithinConcurrent races sixteen callers on one store handle
// (whose connection pool runs them side by side).
func testInsertWithinConcurrent(t *testing.T, s store.Store) {
	stores := []store.Store{s}
	raceQuota(t, stores, "acs:pending", 16, store.Quota{Pending: 1}, 1)
	raceQuota(t, stores, "acs:daily", 16, store.Quota{PerDay: 2, Since: base.Add(-24 * time.Hour)}, 2)
}

// testInsertWithinAcrossStores races sixteen callers spread over four store
// handles on one database, as four function instances would.
func testInsertWithinAcrossStores(t *testing.T, stores []store.Store) {
	raceQuota(t, stores, "acs:pending", 16, store.Quota{Pending: 1}, 1)
	raceQuota(t, stores, "acs:daily", 16, store.Quota{PerDay: 1, Since: base.Add(-24 * time.Hour)}, 1)
	raceQuota(t, stores, "acs:both", 16, store.Quota{PerDay: 3, Since: base.Add(-24 * time.Hour), Pending: 2}, 2)
}
