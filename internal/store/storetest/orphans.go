package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// testOrphans covers the watch over failed requests' gateways: which
// failed requests are candidates, the check interval, the announcement
// made once (history entry and outbox event in one step), and the list.
func testOrphans(t *testing.T, st store.Store) {
	ctx := context.Background()
	s, ok := st.(store.Orphans)
	if !ok {
		t.Fatalf("%T does not implement store.Orphans", st)
	}
	fail := func(key string, ch store.Change, via ...store.State) {
		t.Helper()
		from := store.Received
		for _, to := range append(via, store.Failed) {
			if _, err := st.Transition(ctx, key, []store.State{from}, to, "", ch, nil); err != nil {
				t.Fatal(err)
			}
			from, ch = to, store.Change{LastError: "Timeout: still creating"}
		}
	}
	mustInsert(t, st, request("o-gw", base))
	fail("o-gw", store.Change{GatewayID: "vpn-o1", AddAttempt: true}, store.Pending)
	mustInsert(t, st, request("o-noid", base.Add(time.Second)))
	fail("o-noid", store.Change{AddAttempt: true})
	mustInsert(t, st, request("o-invalid", base.Add(2*time.Second))) // never reached the API
	fail("o-invalid", store.Change{LastError: "InvalidRequest: no"})
	del := request("o-delete", base.Add(3*time.Second))
	del.Kind, del.GatewayID = store.KindDelete, "vpn-o9"
	mustInsert(t, st, del)
	fail("o-delete", store.Change{AddAttempt: true})
	mustInsert(t, st, request("o-active", base.Add(4*time.Second)))
	if _, err := st.Transition(ctx, "o-active", []store.State{store.Received}, store.Active, "", store.Change{GatewayID: "vpn-o2"}, nil); err != nil {
		t.Fatal(err)
	}

	keysOf := func(rs []store.Request) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Key)
		}
		return out
	}
	candidates := func(since, before time.Time) []string {
		t.Helper()
		rs, err := s.OrphanCandidates(ctx, since, before, 100)
		if err != nil {
			t.Fatal(err)
		}
		return keysOf(rs)
	}
	since := time.Now().Add(-time.Hour)
	later := time.Now().Add(time.Hour)
	if got, want := candidates(since, later), []string{"o-gw", "o-noid"}; !slices.Equal(got, want) {
		t.Fatalf("candidates = %v, want %v (failed creates that reached the API)", got, want)
	}
	if got := candidates(later, later); len(got) != 0 {
		t.Errorf("candidates failed after the window's start = %v, want none", got)
	}
	checked := time.Now().Truncate(time.Second)
	if err := s.OrphanChecked(ctx, []string{"o-gw"}, checked); err != nil {
		t.Fatal(err)
	}
	if got, want := candidates(since, checked), []string{"o-noid"}; !slices.Equal(got, want) {
		t.Errorf("candidates not checked since %s = %v, want %v", checked, got, want)
	}
	if got, want := candidates(since, checked.Add(time.Second)), []string{"o-gw", "o-noid"}; !slices.Equal(got, want) {
		t.Errorf("candidates due a second after the check = %v, want %v", got, want)
	}

	at := base.Add(time.Hour).Truncate(time.Microsecond)
	n := store.Note{Actor: store.ActorReconcile, Reason: "gateway vpn-o3 exists although the request failed"}
	if err := s.MarkOrphaned(ctx, "o-noid", "vpn-o3", at, n, []store.Event{event("o-noid", "orphaned-1")}); err != nil {
		t.Fatal(err)
	}
	err := s.MarkOrphaned(ctx, "o-noid", "vpn-o3", at, n, []store.Event{event("o-noid", "orphaned-2")})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second MarkOrphaned = %v, want ErrConflict", err)
	}
	if err := s.MarkOrphaned(ctx, "o-active", "vpn-o2", at, n, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("MarkOrphaned of an active request = %v, want ErrConflict", err)
	}
	if got := mustGet(t, st, "o-noid"); got.GatewayID != "vpn-o3" || got.State != store.Failed {
		t.Errorf("orphaned request = %s %q, want failed with the gateway it was found to have", got.State, got.GatewayID)
	}
	if found, err := st.CreatedGateway(ctx, "vpn-o3"); err != nil || found.Key != "o-noid" {
		t.Errorf("CreatedGateway(vpn-o3) = %s, %v; want o-noid", found.Key, err)
	}
	h, err := st.History(ctx, "o-noid")
	if err != nil {
		t.Fatal(err)
	}
	if last := h[len(h)-1]; last.State != store.Failed || last.Actor != store.ActorReconcile || last.Reason != n.Reason || last.GatewayID != "vpn-o3" {
		t.Errorf("last history entry = %+v, want failed by reconcile, %q, vpn-o3", last, n.Reason)
	}
	unsent, err := st.Unsent(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range unsent {
		ids = append(ids, e.ID)
	}
	if !slices.Contains(ids, "orphaned-1") || slices.Contains(ids, "orphaned-2") {
		t.Errorf("outbox = %v, want orphaned-1 alone of the two", ids)
	}
	if got, want := candidates(since, later), []string{"o-gw"}; !slices.Equal(got, want) {
		t.Errorf("candidates after one was announced = %v, want %v", got, want)
	}
	list, err := s.ListOrphans(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Key != "o-noid" || !list[0].OrphanedAt.Equal(at) || list[0].GatewayID != "vpn-o3" {
		t.Fatalf("ListOrphans = %+v, want o-noid orphaned at %s", list, at)
	}
}
