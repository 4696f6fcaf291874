package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// entry is what the history tests compare of an entry.
type entry struct {
	State     store.State
	Actor     store.Actor
	Reason    string
	GatewayID string
}

func mustHistory(t *testing.T, s store.Store, key string) []store.HistoryEntry {
	t.Helper()
	h, err := s.History(context.Background(), key)
	if err != nil {
		t.Fatalf("History(%s): %v", key, err)
	}
	return h
}

func entries(h []store.HistoryEntry) []entry {
	out := make([]entry, len(h))
	for i, e := range h {
		out[i] = entry{e.State, e.Actor, e.Reason, e.GatewayID}
	}
	return out
}

func sameEntries(t *testing.T, got []store.HistoryEntry, want []entry) {
	t.Helper()
	g := entries(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Errorf("history =\n  %v\nwant\n  %v", g, want)
	}
}

// testHistory: a request's life, each change of state one entry with its
// actor and reason, in order, at the time of the change; the last entry is
// the current state.
func testHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := request("k-hist", base)
	r.Note = store.Note{Actor: store.ActorWebhook, Reason: "allowed by rule team-a"}
	mustInsert(t, s, r)
	// A second Insert of the key records nothing: the request was not
	// recorded again.
	again := r
	again.Note = store.Note{Actor: store.ActorProvision, Reason: "again"}
	if _, created, err := s.Insert(ctx, again, nil); err != nil || created {
		t.Fatalf("Insert again: created %v, %v", created, err)
	}

	if _, err := s.Transition(ctx, r.Key, []store.State{store.Received}, store.Received, "",
		store.Change{AddAttempt: true, LastError: "Throttling: slow down", Note: store.Note{Actor: store.ActorWebhook}}, nil); err != nil {
		t.Fatal(err)
	}
	// The same retry failing the same way adds nothing.
	if _, err := s.Transition(ctx, r.Key, []store.State{store.Received}, store.Received, "",
		store.Change{AddAttempt: true, LastError: "Throttling: slow down", Note: store.Note{Actor: store.ActorWebhook}}, nil); err != nil {
		t.Fatal(err)
	}
	// A failed transition records nothing.
	if _, err := s.Transition(ctx, r.Key, []store.State{store.Pending}, store.Active, "",
		store.Change{Note: store.Note{Actor: store.ActorReconcile, Reason: "never"}}, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Transition from the wrong state: %v, want ErrConflict", err)
	}
	// The actor from the context, when the change names none.
	rctx := store.WithActor(ctx, store.ActorReconcile)
	pending, err := s.Transition(rctx, r.Key, []store.State{store.Received}, store.Pending, "",
		store.Change{GatewayID: "vpn-h1", AcceptedAt: base, Note: store.Note{Reason: "CreateVpnGateway accepted"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	active, err := s.Transition(rctx, r.Key, []store.State{store.Pending}, store.Active, "",
		store.Change{Note: store.Note{Reason: "Active"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	h := mustHistory(t, s, r.Key)
	sameEntries(t, h, []entry{
		{store.Received, store.ActorWebhook, "allowed by rule team-a", ""},
		{store.Received, store.ActorWebhook, "Throttling: slow down", ""},
		{store.Pending, store.ActorReconcile, "CreateVpnGateway accepted", "vpn-h1"},
		{store.Active, store.ActorReconcile, "Active", "vpn-h1"},
	})
	if len(h) != 4 {
		return
	}
	if !h[0].At.Equal(norm(r.UpdatedAt)) {
		t.Errorf("first entry at %v, want the record's %v", h[0].At, norm(r.UpdatedAt))
	}
	if !h[2].At.Equal(pending.UpdatedAt) || !h[3].At.Equal(active.UpdatedAt) {
		t.Errorf("entries at %v, %v; want the changes' %v, %v", h[2].At, h[3].At, pending.UpdatedAt, active.UpdatedAt)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Seq <= h[i-1].Seq || h[i].At.Before(h[i-1].At) {
			t.Errorf("entry %d (seq %d at %v) not after entry %d (seq %d at %v)", i, h[i].Seq, h[i].At, i-1, h[i-1].Seq, h[i-1].At)
		}
		if h[i].At.Location() != time.UTC {
			t.Errorf("entry %d at %v, not in UTC", i, h[i].At)
		}
	}
	if last := h[len(h)-1]; last.State != mustGet(t, s, r.Key).State {
		t.Errorf("last entry %s, record %s", last.State, mustGet(t, s, r.Key).State)
	}
}

// testHistoryReasons: a failure's reason is its LastError unless the change
// gives one; a reason is cut at MaxReason bytes on a character boundary;
// History of no request is ErrNotFound; each request has its own history.
func testHistoryReasons(t *testing.T, s store.Store) {
	ctx := context.Background()
	denied := request("k-hist-denied", base)
	denied.State, denied.LastError = store.Failed, "PolicyDenied: rule deny-prod refuses source acs:test"
	denied.Note = store.Note{Actor: store.ActorProvision}
	mustInsert(t, s, denied)
	sameEntries(t, mustHistory(t, s, denied.Key), []entry{
		{store.Failed, store.ActorProvision, "PolicyDenied: rule deny-prod refuses source acs:test", ""},
	})

	long := request("k-hist-long", base)
	long.Note = store.Note{Actor: store.ActorOperator, Reason: strings.Repeat("a", store.MaxReason-1) + "é"}
	mustInsert(t, s, long)
	if _, err := s.Transition(ctx, long.Key, []store.State{store.Received}, store.Failed, "",
		store.Change{LastError: "Forbidden.RAM: no", Note: store.Note{Actor: store.ActorReconcile}}, nil); err != nil {
		t.Fatal(err)
	}
	sameEntries(t, mustHistory(t, s, long.Key), []entry{
		{store.Received, store.ActorOperator, strings.Repeat("a", store.MaxReason-1), ""},
		{store.Failed, store.ActorReconcile, "Forbidden.RAM: no", ""},
	})
	// The other request's history is its own.
	if h := mustHistory(t, s, denied.Key); len(h) != 1 {
		t.Errorf("history of %s = %v, want its one entry", denied.Key, entries(h))
	}
	if _, err := s.History(ctx, "k-hist-none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("History of no request: %v, want ErrNotFound", err)
	}
}
