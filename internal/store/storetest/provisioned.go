package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// testProvisionTimes covers what reconcile's schedule learns from: the time
// from acceptance to Active of a region's recent create requests, newest
// first, and none of the requests that are not such.
func testProvisionTimes(t *testing.T, st store.Store) {
	ctx := context.Background()
	s, ok := st.(store.Provisioned)
	if !ok {
		t.Fatalf("%T does not implement store.Provisioned", st)
	}
	// The history's entries are at the store's clock: the requests are
	// accepted that long before now.
	now := time.Now()
	add := func(key, region string, created time.Time, took time.Duration, kind store.Kind, to store.State) {
		t.Helper()
		r := request(key, created)
		r.RegionID, r.Kind = region, kind
		if kind == store.KindDelete {
			r.GatewayID = "vpn-" + key
		}
		mustInsert(t, st, r)
		if _, err := st.Transition(ctx, key, []store.State{store.Received}, store.Pending, "",
			store.Change{GatewayID: "vpn-" + key, AcceptedAt: now.Add(-took)}, nil); err != nil {
			t.Fatal(err)
		}
		if to == store.Pending {
			return
		}
		if _, err := st.Transition(ctx, key, []store.State{store.Pending}, to, "", store.Change{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	since := now.Add(-time.Hour)
	add("p-old", "cn-hangzhou", since.Add(-time.Minute), 10*time.Minute, store.KindCreate, store.Active) // before since
	add("p-90", "cn-hangzhou", now.Add(-3*time.Minute), 90*time.Second, store.KindCreate, store.Active)
	add("p-other-region", "cn-shanghai", now.Add(-2*time.Minute), 70*time.Second, store.KindCreate, store.Active)
	add("p-failed", "cn-hangzhou", now.Add(-2*time.Minute), 30*time.Second, store.KindCreate, store.Failed)
	add("p-pending", "cn-hangzhou", now.Add(-2*time.Minute), 40*time.Second, store.KindCreate, store.Pending)
	add("p-delete", "cn-hangzhou", now.Add(-2*time.Minute), 20*time.Second, store.KindDelete, store.Deleted)
	add("p-200", "cn-hangzhou", now.Add(-time.Minute), 200*time.Second, store.KindCreate, store.Active)
	add("p-60", "cn-hangzhou", now.Add(-30*time.Second), 60*time.Second, store.KindCreate, store.Active)

	got, err := s.ProvisionTimes(ctx, "cn-hangzhou", since, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Each time is at least what the request was given (the Active entry
	// is written after now) and not much more.
	want := []time.Duration{60 * time.Second, 200 * time.Second, 90 * time.Second}
	if len(got) != len(want) {
		t.Fatalf("ProvisionTimes = %v, want about %v (newest first; no other region, state, kind, or older request)", got, want)
	}
	for i := range want {
		if got[i] < want[i] || got[i] > want[i]+time.Minute {
			t.Errorf("ProvisionTimes = %v, want about %v (newest first)", got, want)
			break
		}
	}
	if got, err := s.ProvisionTimes(ctx, "cn-hangzhou", since, 2); err != nil || len(got) != 2 || got[0] > 2*time.Minute {
		t.Errorf("ProvisionTimes limited to 2 = %v, %v; want the 2 newest", got, err)
	}
	if got, err := s.ProvisionTimes(ctx, "cn-beijing", since, 10); err != nil || len(got) != 0 {
		t.Errorf("ProvisionTimes of a region with none = %v, %v; want none", got, err)
	}
}
