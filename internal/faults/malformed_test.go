package faults

import (
	"context"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/store"
)

// Events without an id have no identity; provision keys them by their
// content instead, so that a redelivery lands on the same record. Two
// different such events are two requests: each must be recorded and
// answered with a failed event of its own.
func TestDistinctEventsWithoutIDAreRecordedApart(t *testing.T) {
	h := newHarness(t, scenario{name: "no-id"}, size{requests: 20, seed: 3, settle: time.Minute}, "sqlite")
	a := h.newApps(1)[0]
	body := []byte(`[
	 {"specversion":"1.0","source":"/chatbot/netops","type":"io.vpngw.gateway.requested","data":{"RegionId":"cn-hangzhou","Bandwidth":10}},
	 {"specversion":"1.0","source":"/chatbot/netops","type":"io.vpngw.gateway.requested","data":{"RegionId":"cn-shanghai","Bandwidth":20}}
	]`)
	ctx, cancel := context.WithTimeout(context.Background(), provisionTimeout)
	defer cancel()
	out, err := a.ProvisionHandler()(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	res := out.(app.ProvisionResponse).Results
	if len(res) != 2 || res[0].State != store.Failed || res[1].State != store.Failed {
		t.Fatalf("results %+v, want two failed", res)
	}
	if res[0].Key == res[1].Key {
		t.Errorf("two different events share the record %s (%q): the second is answered with the first one's outcome", res[0].Key, res[0].EventID)
	}
	n, err := h.store.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d records for two events", n)
	}
	plain, _ := plainEvents(h.stack.WaitMessages(2))
	failed := map[string]bool{}
	for _, e := range plain {
		if e.Type == events.TypeFailed {
			failed[e.ID] = true
		}
	}
	if len(failed) != 2 {
		t.Errorf("%d distinct failed events for two malformed events, want 2", len(failed))
	}
}
