package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// testHold checks that Hold leases one request unless another owner's lease
// is in force, that Claim skips a held request, and that Release ends it.
func testHold(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustInsert(t, s, request("k-hold", base))
	now := base.Add(time.Minute)
	hold := func(owner string, at, until time.Time) bool {
		t.Helper()
		ok, err := s.Hold(ctx, "k-hold", owner, at, until)
		if err != nil {
			t.Fatalf("Hold(%s): %v", owner, err)
		}
		return ok
	}
	if !hold("inv-1", now, now.Add(time.Minute)) {
		t.Fatal("an unleased request was not held")
	}
	if !hold("inv-1", now, now.Add(time.Minute)) {
		t.Fatal("the holder could not hold again with the same end")
	}
	heldUntil := func(st store.State, owner string, at time.Time) time.Time {
		t.Helper()
		until, err := s.HeldUntil(ctx, st, owner, at)
		if err != nil {
			t.Fatalf("HeldUntil(%s, %s): %v", st, owner, err)
		}
		return until
	}
	if got := heldUntil(store.Received, "tick", now.Add(30*time.Second)); !got.Equal(norm(now.Add(time.Minute))) {
		t.Fatalf("HeldUntil while inv-1 holds: %v, want %v", got, now.Add(time.Minute))
	}
	for _, c := range []struct {
		name  string
		st    store.State
		owner string
		at    time.Time
	}{
		{"by its own holder", store.Received, "inv-1", now},
		{"in another state", store.Batch, "tick", now},
		{"after the hold ended", store.Received, "tick", now.Add(2 * time.Minute)},
	} {
		if got := heldUntil(c.st, c.owner, c.at); !got.IsZero() {
			t.Errorf("HeldUntil %s: %v, want none", c.name, got)
		}
	}
	if hold("inv-2", now.Add(30*time.Second), now.Add(2*time.Minute)) {
		t.Fatal("held while another owner's lease was in force")
	}
	if got, err := s.Claim(ctx, []store.State{store.Received}, "tick", now.Add(30*time.Second), time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("Claim of a held request: %d claimed, err %v; want none", len(got), err)
	}
	if !hold("inv-2", now.Add(2*time.Minute), now.Add(3*time.Minute)) {
		t.Fatal("not held after the other lease expired")
	}
	if err := s.Release(ctx, "inv-2", []string{"k-hold"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Claim(ctx, []store.State{store.Received}, "tick", now.Add(2*time.Minute), time.Minute, 10); err != nil || len(got) != 1 {
		t.Fatalf("Claim after Release: %d claimed, err %v; want 1", len(got), err)
	}
	if _, err := s.Hold(ctx, "k-missing", "inv-1", now, now.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Hold of a missing request: %v; want ErrNotFound", err)
	}
}

// testLearnedRate checks the round trip of learned rates, per bucket, and
// that the last one set is the one in force.
func testLearnedRate(t *testing.T, s store.Store) {
	ctx := context.Background()
	const b = "cn-hangzhou/CreateVpnGateway"
	if _, ok, err := s.LearnedRate(ctx, b); err != nil || ok {
		t.Fatalf("LearnedRate before any: ok %t, err %v", ok, err)
	}
	first := store.LearnedRate{PerSec: 0.5, Since: base, ResumeAt: base.Add(20 * time.Second), Hold: 10 * time.Minute}
	if err := s.SetLearnedRate(ctx, b, first); err != nil {
		t.Fatal(err)
	}
	second := store.LearnedRate{PerSec: 0.25, Since: base.Add(time.Minute), ResumeAt: base.Add(90 * time.Second), Hold: 20 * time.Minute}
	if err := s.SetLearnedRate(ctx, b, second); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LearnedRate(ctx, b)
	if err != nil || !ok {
		t.Fatalf("LearnedRate: ok %t, err %v", ok, err)
	}
	want := second
	want.Since, want.ResumeAt = norm(want.Since), norm(want.ResumeAt)
	if got != want {
		t.Fatalf("LearnedRate = %+v, want %+v", got, want)
	}
	if _, ok, _ := s.LearnedRate(ctx, "cn-shanghai/CreateVpnGateway"); ok {
		t.Fatal("another bucket has the rate too")
	}
	for _, bad := range []store.LearnedRate{{PerSec: 0, Since: base}, {PerSec: -1, Since: base}, {PerSec: 1}} {
		if err := s.SetLearnedRate(ctx, b, bad); err == nil {
			t.Errorf("SetLearnedRate(%+v) accepted", bad)
		}
	}
}

// testLearnedRateAcrossStores checks that a rate one instance learns is
// the one every other instance on the database reads.
func testLearnedRateAcrossStores(t *testing.T, stores []store.Store) {
	ctx := context.Background()
	const b = "cn-hangzhou/DescribeVpnGateways"
	r := store.LearnedRate{PerSec: 4.5, Since: base, ResumeAt: base.Add(time.Second), Hold: time.Minute}
	if err := stores[0].SetLearnedRate(ctx, b, r); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		got, ok, err := s.LearnedRate(ctx, b)
		if err != nil || !ok || got.PerSec != r.PerSec || !got.Since.Equal(norm(r.Since)) {
			t.Fatalf("store %d: %+v, ok %t, err %v; want %+v", i, got, ok, err, r)
		}
	}
}
