package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// testExpiry covers what expiry needs of a store: ExpiresAt round-trips,
// Expiring finds active create requests due by a time (soonest first, none
// other), and WarnExpiry records each warning once, with its event, however
// many callers race for it.
func testExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return base.Add(d) }
	active := func(key string, expires time.Time) store.Request {
		r := request(key, base)
		r.ExpiresAt = expires
		got := mustInsert(t, s, r)
		if d := diff(r, got); d != "" {
			t.Fatalf("round trip with ExpiresAt: %s", d)
		}
		if _, err := s.Transition(ctx, key, []store.State{store.Received}, store.Active, "", store.Change{GatewayID: "vpn-" + key}, nil); err != nil {
			t.Fatal(err)
		}
		return got
	}
	active("x-late", at(48*time.Hour))
	active("x-soon", at(2*time.Hour))
	active("x-sooner", at(30*time.Minute))
	active("x-none", time.Time{})
	pending := request("x-pending", base)
	pending.ExpiresAt = at(time.Minute)
	mustInsert(t, s, pending)
	del := request("x-delete", base)
	del.Kind, del.ExpiresAt = store.KindDelete, at(time.Minute)
	mustInsert(t, s, del)
	if _, err := s.Transition(ctx, del.Key, []store.State{store.Received}, store.Active, "", store.Change{}, nil); err != nil {
		t.Fatal(err)
	}

	got, err := s.Expiring(ctx, at(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range got {
		keys = append(keys, r.Key)
	}
	if want := []string{"x-sooner", "x-soon"}; !slices.Equal(keys, want) {
		t.Fatalf("Expiring within 24h = %v, want %v (active create requests only, soonest first)", keys, want)
	}
	if got, err := s.Expiring(ctx, at(24*time.Hour), 1); err != nil || len(got) != 1 || got[0].Key != "x-sooner" {
		t.Fatalf("Expiring with limit 1 = %d requests, %v; want x-sooner", len(got), err)
	}
	if !got[0].ExpiresAt.Equal(norm(at(30 * time.Minute))) {
		t.Errorf("ExpiresAt = %v, want %v", got[0].ExpiresAt, norm(at(30*time.Minute)))
	}

	// Four callers race to announce the same warning: one does.
	var (
		mu  sync.Mutex
		won int
	)
	atOnce(4, func(i int) {
		ok, err := s.WarnExpiry(ctx, "x-soon", store.WarnedDay, []store.Event{event("x-soon", "warn-day-"+string(rune('a'+i)))})
		if err != nil {
			t.Error(err)
		}
		if ok {
			mu.Lock()
			won++
			mu.Unlock()
		}
	})
	if won != 1 {
		t.Fatalf("%d of 4 racing WarnExpiry calls recorded the warning, want 1", won)
	}
	if r := mustGet(t, s, "x-soon"); r.ExpiryWarned != store.WarnedDay {
		t.Errorf("ExpiryWarned = %d, want %d", r.ExpiryWarned, store.WarnedDay)
	}
	// The later warning is recorded once; an earlier one after it never.
	if ok, err := s.WarnExpiry(ctx, "x-soon", store.WarnedHour, []store.Event{event("x-soon", "warn-hour")}); err != nil || !ok {
		t.Fatalf("WarnExpiry(hour) = %v, %v; want recorded", ok, err)
	}
	if ok, err := s.WarnExpiry(ctx, "x-soon", store.WarnedDay, []store.Event{event("x-soon", "warn-day-again")}); err != nil || ok {
		t.Fatalf("WarnExpiry(day) after the hour's = %v, %v; want not recorded", ok, err)
	}
	if ok, err := s.WarnExpiry(ctx, pending.Key, store.WarnedDay, []store.Event{event(pending.Key, "warn-pending")}); err != nil || ok {
		t.Fatalf("WarnExpiry of a pending request = %v, %v; want not recorded", ok, err)
	}
	// A refused expiry deletion takes the request out of Expiring.
	if ok, err := s.WarnExpiry(ctx, "x-sooner", store.ExpiryRefused, nil); err != nil || !ok {
		t.Fatalf("WarnExpiry(refused) = %v, %v", ok, err)
	}
	if got, err := s.Expiring(ctx, at(24*time.Hour), 10); err != nil || len(got) != 1 || got[0].Key != "x-soon" {
		t.Fatalf("Expiring after x-sooner's expiry was refused = %d requests, %v; want x-soon alone", len(got), err)
	}
	evs, err := s.Unsent(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.RequestKey == "x-soon" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d warning events in the outbox for x-soon, want 2 (one a warning)", n)
	}
}
