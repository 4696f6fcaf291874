package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/store"
)

// testInsertMany: InsertMany records each new request as Insert would, with
// its history, returns a request recorded before it as it is, and in rs's
// order.
func testInsertMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := request("k-many-1", base)
	mustInsert(t, s, first)

	again := request("k-many-1", base.Add(1))
	again.Params = []byte(`{"other":true}`)
	rs := []store.Request{request("k-many-0", base), again, request("k-many-2", base)}
	want := []store.Request{rs[0], first, rs[2]}
	got, err := s.InsertMany(ctx, rs)
	if err != nil {
		t.Fatalf("InsertMany: %v", err)
	}
	if len(got) != len(rs) {
		t.Fatalf("InsertMany: %d answers for %d requests", len(got), len(rs))
	}
	for i, g := range got {
		if g.Created != (i != 1) {
			t.Errorf("InsertMany answer %d (%s): created = %t", i, want[i].Key, g.Created)
		}
		if d := diff(want[i], g.Request); d != "" {
			t.Errorf("InsertMany answer %d (%s): %s", i, want[i].Key, d)
		}
		if d := diff(want[i], mustGet(t, s, want[i].Key)); d != "" {
			t.Errorf("stored %s: %s", want[i].Key, d)
		}
		h, err := s.History(ctx, want[i].Key)
		if err != nil || len(h) != 1 || h[0].State != store.Received {
			t.Errorf("history of %s = %+v, %v: want one entry, received", want[i].Key, h, err)
		}
	}
	if got, err := s.InsertMany(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("InsertMany(nil) = %v, %v; want nothing", got, err)
	}
}

// testInsertManyWhole: a request the store refuses leaves none of the
// others of the same InsertMany recorded.
func testInsertManyWhole(t *testing.T, s store.Store) {
	ctx := context.Background()
	refused := 0
	for i, bad := range []store.Request{
		{Key: "k-whole-state", State: "no-such-state"},
		withSource(request("k-whole-nul", base), "a\x00b"),
		withRegion(request("k-whole-long", base)),
	} {
		good := request(fmt.Sprintf("k-whole-good-%d", i), base)
		_, err := s.InsertMany(ctx, []store.Request{good, bad})
		if err == nil {
			// This backend keeps the value: both are recorded.
			continue
		}
		refused++
		if _, gerr := s.Get(ctx, good.Key); !errors.Is(gerr, store.ErrNotFound) {
			t.Errorf("%s refused (%v), yet %s was recorded (%v)", bad.Key, err, good.Key, gerr)
		}
		if _, gerr := s.Get(ctx, bad.Key); !errors.Is(gerr, store.ErrNotFound) {
			t.Errorf("%s refused (%v), yet recorded (%v)", bad.Key, err, gerr)
		}
	}
	if refused == 0 {
		t.Error("no InsertMany was refused; an unknown state at least must be")
	}
}

func withSource(r store.Request, source string) store.Request { r.Source = source; return r }

func withRegion(r store.Request) store.Request { r.RegionID = strings.Repeat("r", 300); return r }
