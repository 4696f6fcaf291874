package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// testDeleteRequests covers what deletion needs of a store: a delete
// request keeps its kind, moves through Deleted (terminal), and
// CreatedGateway finds the create request holding a gateway, never a
// delete request naming it.
func testDeleteRequests(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.CreatedGateway(ctx, "vpn-none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreatedGateway of an unknown gateway = %v, want ErrNotFound", err)
	}
	if _, err := s.CreatedGateway(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreatedGateway of no gateway = %v, want ErrNotFound", err)
	}
	create := request("k-create", base)
	mustInsert(t, s, create)
	if _, err := s.Transition(ctx, create.Key, []store.State{store.Received}, store.Pending, "", store.Change{GatewayID: "vpn-made1"}, nil); err != nil {
		t.Fatal(err)
	}
	del := request("k-delete", base.Add(time.Second))
	del.Kind = store.KindDelete
	del.GatewayID = "vpn-made1"
	got := mustInsert(t, s, del)
	if d := diff(del, got); d != "" {
		t.Fatalf("delete request round trip: %s", d)
	}
	if got := mustGet(t, s, create.Key); got.Kind != store.KindCreate {
		t.Errorf("create request kind = %q, want the zero kind", got.Kind)
	}
	found, err := s.CreatedGateway(ctx, "vpn-made1")
	if err != nil || found.Key != create.Key {
		t.Fatalf("CreatedGateway = %s, %v; want the create request %s", found.Key, err, create.Key)
	}
	// A delete request alone holds no gateway vpngw created.
	other := request("k-delete-other", base.Add(2*time.Second))
	other.Kind, other.GatewayID = store.KindDelete, "vpn-foreign"
	mustInsert(t, s, other)
	if _, err := s.CreatedGateway(ctx, "vpn-foreign"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreatedGateway of a gateway only a delete request names = %v, want ErrNotFound", err)
	}
	if _, err := s.Transition(ctx, del.Key, []store.State{store.Received}, store.Pending, "", store.Change{AddAttempt: true}, nil); err != nil {
		t.Fatal(err)
	}
	// Deleting takes nothing from the quota: of the source's three
	// requests received or pending, only the create request counts.
	quotaProbe := request("k-quota-probe", base.Add(3*time.Second))
	if _, _, err := s.InsertWithin(ctx, quotaProbe, nil, store.Quota{Pending: 2}); err != nil {
		t.Fatalf("a create beside one pending create and two delete requests, under a quota of 2 pending: %v", err)
	}
	claimed, err := s.Claim(ctx, []store.State{store.Pending}, "o", base.Add(time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	var kinds = map[string]store.Kind{}
	for _, r := range claimed {
		kinds[r.Key] = r.Kind
	}
	if kinds[del.Key] != store.KindDelete || kinds[create.Key] != store.KindCreate {
		t.Errorf("claimed kinds %v", kinds)
	}
	done, err := s.Transition(ctx, del.Key, []store.State{store.Pending}, store.Deleted, "o", store.Change{Note: store.Note{Reason: "gone"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != store.Deleted || !done.State.Terminal() || done.Kind != store.KindDelete {
		t.Errorf("after deletion: state %q kind %q", done.State, done.Kind)
	}
	h, err := s.History(ctx, del.Key)
	if err != nil || len(h) == 0 || h[len(h)-1].State != store.Deleted || h[len(h)-1].Reason != "gone" {
		t.Errorf("history %+v, %v", h, err)
	}
}
