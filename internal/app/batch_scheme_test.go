package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/store"
)

// A batch whose id is an earlier single event's id of the same source must
// not take that event's record as its own (and with it the old item-id
// scheme, whose items collide with single events): it is refused, naming
// id, and the single request's record is left as it was.
func TestBatchWithASingleRequestsIDIsRefused(t *testing.T) {
	s := newStack(t)
	if resp, err := s.provision(requestEventOfType("x-1", events.TypeRequested, validData())); err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("single x-1: %+v %v", resp, err)
	}
	other := validData()
	other["Bandwidth"] = 5
	if resp, err := s.provision(requestEventOfType("x-1/0001", events.TypeRequested, other)); err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("single x-1/0001: %+v %v", resp, err)
	}
	before, err := s.App.Store.Get(context.Background(), requestKey("/batch/nightly", "x-1"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.provision(batchEvent("x-1", []map[string]any{validData(), validData()}))
	t.Logf("batch: %+v %v", resp, err)
	if err != nil || len(resp.Results) != 1 {
		t.Fatalf("batch: %+v %v, want one answer refusing it", resp, err)
	}
	r := resp.Results[0]
	if r.Code != events.CodeInvalidRequest || len(r.Errors) == 0 || r.Errors[0].Field != "id" || !strings.Contains(r.Message, "not a batch") {
		t.Fatalf("batch answered %+v, want InvalidRequest naming id", r)
	}
	if n := len(s.API.Gateways()); n != 2 {
		t.Fatalf("%d gateways, want the two singles' only", n)
	}
	after, err := s.App.Store.Get(context.Background(), requestKey("/batch/nightly", "x-1"))
	if err != nil {
		t.Fatal(err)
	}
	if after.State != before.State || after.GatewayID != before.GatewayID || after.ItemScheme != before.ItemScheme {
		t.Fatalf("the single request's record changed: %+v, was %+v", after, before)
	}
	// A new id is a batch like any other.
	resp, err = s.provision(batchEvent("x-2", []map[string]any{validData(), validData()}))
	if err != nil || len(resp.Results) != 2 {
		t.Fatalf("batch x-2: %+v %v", resp, err)
	}
	if n := len(s.API.Gateways()); n != 4 {
		t.Fatalf("%d gateways, want 4", n)
	}
}
