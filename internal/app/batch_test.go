package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// An EventBridge event-streaming delivery: a JSON array of 50 CloudEvents,
// 3 of them invalid and 2 repeating another item's id. Every item gets its
// own outcome; the delivery leaves 45 gateways and 3 failed events naming
// the fields.
func TestEventStreamingArray(t *testing.T) {
	s := newStack(t)
	var arr []json.RawMessage
	invalid := map[int]string{7: "Bandwidth", 19: "VpcId", 33: "Bandwith"}
	for i := range 50 {
		d := validData()
		id := fmt.Sprintf("evt-arr-%02d", i)
		switch {
		case i == 10 || i == 20:
			id = fmt.Sprintf("evt-arr-%02d", i-2) // the same event as a valid item before it
		case invalid[i] == "Bandwidth":
			d["Bandwidth"] = 7
		case invalid[i] == "VpcId":
			delete(d, "VpcId")
		case invalid[i] == "Bandwith":
			d["Bandwith"] = 10
		}
		arr = append(arr, requestEvent(id, d))
	}
	payload, _ := json.Marshal(arr)
	resp, err := s.provision(payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 50 {
		t.Fatalf("%d results, want one per item", len(resp.Results))
	}
	if n := len(s.API.Gateways()); n != 45 {
		t.Fatalf("emulator holds %d gateways, want 45", n)
	}
	failed := s.EventsOfType(events.TypeFailed)
	if len(failed) != 3 {
		t.Fatalf("%d failed events, want 3", len(failed))
	}
	for _, e := range failed {
		var d events.Failed
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		var idx int
		fmt.Sscanf(d.Request.EventID, "evt-arr-%d", &idx)
		if len(d.Errors) == 0 || d.Errors[0].Field != invalid[idx] {
			t.Errorf("item %d: errors %+v, want the field %s named", idx, d.Errors, invalid[idx])
		}
	}
	if n := len(s.EventsOfType(events.TypeAccepted)); n != 45 {
		t.Fatalf("%d accepted events, want 45", n)
	}
}

// oneGatewayPerToken fails t when two of gws share a ClientToken: a
// request created twice.
func oneGatewayPerToken(t *testing.T, gws []vpcsim.Gateway) {
	t.Helper()
	tokens := map[string]bool{}
	for _, g := range gws {
		if tokens[g.ClientToken] {
			t.Fatalf("two gateways for ClientToken %s", g.ClientToken)
		}
		tokens[g.ClientToken] = true
	}
}

func batchEvent(id string, items []map[string]any) []byte {
	return requestEventOfType(id, events.TypeBatchRequested, map[string]any{"Requests": items})
}

func requestEventOfType(id, typ string, data any) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "/batch/nightly", "type": typ,
		"datacontenttype": "application/json", "data": data,
	})
	return b
}

// A batch of 1,000 against an emulator that throttles 30% of calls: the
// client slows down and retries with the same tokens; deliveries that run
// out of time are redelivered, as the platform does, and nothing is created
// twice. Every item ends with an outcome, and the batch with one summary.
func TestBatchOfThousandUnderThrottling(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 requests")
	}
	s := newStack(t, apptest.WithEmulator(vpcsim.WithFaults(vpcsim.Faults{ThrottleRate: 0.3}), vpcsim.WithRandSeed(7)))
	var items []map[string]any
	for i := range 1000 {
		d := validData()
		d["Name"] = fmt.Sprintf("batch-gw-%04d", i)
		if i%100 == 42 {
			d["Bandwidth"] = 3 // 10 invalid items
		}
		items = append(items, d)
	}
	payload := batchEvent("nightly-2026-11-25", items)
	deliveries := 0
	for {
		deliveries++
		_, err := provisionOn(s.App, 8*time.Second, payload)
		if err == nil {
			break
		}
		if deliveries == 20 {
			t.Fatalf("still failing after %d deliveries: %v", deliveries, err)
		}
	}
	gws := s.API.Gateways()
	oneGatewayPerToken(t, gws)
	if len(gws) != 990 {
		t.Fatalf("%d gateways, want 990", len(gws))
	}
	s.Clock.Advance(3 * time.Minute)
	s.API.SetFaults(vpcsim.Faults{})
	rep := s.tick()
	if rep.Active != 990 || rep.Batches != 1 {
		t.Fatalf("tick: %+v, want 990 active and the batch completed", rep)
	}
	t.Logf("1,000 items in %d deliveries; creates sent %d (30%% throttled)", deliveries, s.API.Calls("CreateVpnGateway"))
	sum := onlyEvent[events.BatchCompleted](t, s, events.TypeBatchCompleted)
	if sum.Total != 1000 || sum.Active != 990 || sum.Failed != 10 || len(sum.FailedItems) != 10 ||
		sum.FailedItems[0].Index != 42 || sum.FailedItems[0].Reason == "" || sum.Request.EventID != "nightly-2026-11-25" {
		t.Fatalf("summary = %+v", sum)
	}
	if n := len(s.EventsOfType(events.TypeActive)) + len(s.EventsOfType(events.TypeFailed)); n != 1000 {
		t.Fatalf("%d terminal outcomes, want 1000", n)
	}
	// A further tick writes no second summary.
	if rep := s.tick(); rep.Batches != 0 {
		t.Fatalf("second tick completed the batch again: %+v", rep)
	}
}

// A batch recorded but whose items no delivery reached (the function died
// after recording the batch) is finished by the reconcile tick.
func TestBatchFinishedByTickWhenDeliveriesStop(t *testing.T) {
	s := newStack(t)
	items := []map[string]any{validData(), validData()}
	raw, _ := json.Marshal(map[string]any{"Requests": items})
	now := s.Clock.Now()
	key := requestKey("/batch/nightly", "orphan-1")
	if _, _, err := s.App.Store.Insert(context.Background(), store.Request{
		Key: key, Source: "/batch/nightly", EventID: "orphan-1", Params: raw, State: store.Batch, CreatedAt: now, UpdatedAt: now,
		TraceParent: batchTrace,
	}, nil); err != nil {
		t.Fatal(err)
	}
	s.tick() // records and creates both items
	if n := len(s.API.Gateways()); n != 2 {
		t.Fatalf("%d gateways after the tick, want 2", n)
	}
	s.Clock.Advance(3 * time.Minute)
	s.tick() // both active
	if rep := s.tick(); rep.Batches != 1 && len(s.EventsOfType(events.TypeBatchCompleted)) != 1 {
		t.Fatalf("batch not completed: %+v", rep)
	}
	if n := len(s.EventsOfType(events.TypeBatchCompleted)); n != 1 {
		t.Fatalf("%d summaries, want 1", n)
	}
	// The batch's trace context reaches its items' events and its summary.
	for _, typ := range []string{events.TypeAccepted, events.TypeActive, events.TypeBatchCompleted} {
		for _, ev := range s.EventsOfType(typ) {
			if ev.TraceParent != batchTrace {
				t.Errorf("%s %s: traceparent %q, want the batch's", typ, ev.ID, ev.TraceParent)
			}
		}
	}
}

const batchTrace = "00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-01"

func TestBadBatchIsRejectedAsOne(t *testing.T) {
	s := newStack(t)
	fields := []string{"Requests", "data"} // the field each batch's error names
	for i, data := range []any{map[string]any{"Requests": []any{}}, map[string]any{"Items": []any{validData()}}} {
		resp, err := s.provision(requestEventOfType(fmt.Sprintf("bad-batch-%d", i), events.TypeBatchRequested, data))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Results) != 1 || resp.Results[0].State != store.Failed || len(resp.Results[0].Errors) == 0 ||
			resp.Results[0].Errors[0].Field != fields[i] {
			t.Fatalf("batch %d: %+v, want one failed result with an error naming %s", i, resp.Results, fields[i])
		}
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d creates for bad batches", n)
	}
}

// A single event cannot stand in for an item of a batch from the same
// source: an event whose id has the item form is refused, naming id; an
// event with the id of the old item form is a request of its own; and the
// batch's items are each created, once, also on redelivery.
func TestBatchItemsCannotCollideWithEvents(t *testing.T) {
	s := newStack(t)
	// The item form is refused.
	resp, err := s.provision(requestEventOfType(events.BatchItemID("nightly-42", 1), events.TypeRequested, validData()))
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Results[0]; r.State != store.Failed || r.Code != events.CodeInvalidRequest || len(r.Errors) != 1 || r.Errors[0].Field != "id" {
		t.Fatalf("event with an item's id: %+v, want failed InvalidRequest naming id", r)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d creates for a refused event", n)
	}
	// An event with the id the second item had before items had a form of
	// their own.
	if resp, err := s.provision(requestEventOfType("nightly-42/0001", events.TypeRequested, validData())); err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("single event: %+v %v, want pending", resp, err)
	}
	batch := batchEvent("nightly-42", []map[string]any{validData(), validData()})
	for delivery := range 2 {
		resp, err := s.provision(batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range resp.Results {
			if r.State != store.Pending || r.EventID != events.BatchItemID("nightly-42", i) {
				t.Fatalf("delivery %d, item %d: %+v, want pending as %s", delivery, i, r, events.BatchItemID("nightly-42", i))
			}
		}
	}
	if n := len(s.API.Gateways()); n != 3 {
		t.Fatalf("%d gateways, want 3: the single event's and one per item", n)
	}
	// The request endpoint finds an item by its id.
	w := httptest.NewRecorder()
	s.App.HTTPHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet,
		"/requests/"+url.PathEscape("/batch/nightly")+"/"+url.PathEscape(events.BatchItemID("nightly-42", 1)), nil))
	var got struct{ Id, State string }
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK || got.Id != events.BatchItemID("nightly-42", 1) || got.State != string(store.Pending) {
		t.Fatalf("GET the item: %d %s", w.Code, w.Body)
	}
}

// A batch recorded before items had a form of their own is finished with
// the ids and keys it began with: an item already recorded is not created
// again under a new name.
func TestBatchBegunBeforeItemFormFinishesAsBegun(t *testing.T) {
	s := newStack(t)
	raw, _ := json.Marshal(map[string]any{"Requests": []map[string]any{validData(), validData()}})
	now := s.Clock.Now()
	ctx := context.Background()
	if _, _, err := s.App.Store.Insert(ctx, store.Request{
		Key: requestKey("/batch/nightly", "old-1"), Source: "/batch/nightly", EventID: "old-1",
		Params: raw, State: store.Batch, CreatedAt: now, UpdatedAt: now, ItemScheme: store.ItemsByIndex,
	}, nil); err != nil {
		t.Fatal(err)
	}
	// Its first item was created before the upgrade.
	if resp, err := s.provision(requestEventOfType("old-1/0000", events.TypeRequested, validData())); err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("first item: %+v %v", resp, err)
	}
	s.tick()
	if n := len(s.API.Gateways()); n != 2 {
		t.Fatalf("%d gateways, want 2: the item created before and the one the tick took up", n)
	}
	if _, err := s.App.Store.Get(ctx, requestKey("/batch/nightly", "old-1/0001")); err != nil {
		t.Fatalf("second item not recorded under its old id: %v", err)
	}
}
