package ctl_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// outbox status counts each sink's pending and parked events; replay
// returns a sink's parked events to its outbox, and the next drain
// publishes them.
func TestOutboxStatusAndReplay(t *testing.T) {
	s := apptest.New(t, apptest.WithWallClock())
	env := ctlEnv(s)
	if err := provision(t, s, src, "OB-1"); err != nil {
		t.Fatal(err)
	}
	s.WaitMessages(1)
	// The broker refused the accepted event for good: park it, as the
	// drain does.
	ctx := context.Background()
	st := s.App.Store
	if _, _, err := st.Insert(ctx, store.Request{Key: "k-ob", Source: src, EventID: "OB-2", ClientToken: "t", RegionID: "cn-hangzhou", State: store.Received},
		[]store.Event{{Event: outgoingEvent("ev-ob-2")}}); err != nil {
		t.Fatal(err)
	}
	un, err := st.UnsentFor(ctx, store.FirstSink, 10)
	if err != nil || len(un) != 1 {
		t.Fatalf("unsent %v %v", un, err)
	}
	if err := st.ParkFor(ctx, store.FirstSink, un[0].Seq, "too large", []string{store.FirstSink, "chat"}); err != nil {
		t.Fatal(err)
	}
	r := ctl(t, env, "outbox", "status")
	if r.code != 0 || !strings.Contains(r.out, "SINK") || !slices.Equal(rowOf(r.out, "first")[:4], []string{"first", "0", "-", "1"}) || !strings.Contains(r.out, "chat") {
		t.Fatalf("outbox status: %v", r)
	}
	r = ctl(t, env, "outbox", "status", "-o", "json")
	var rows []struct {
		Sink            string
		Pending, Parked int
	}
	if err := json.Unmarshal([]byte(r.out), &rows); err != nil || r.code != 0 || len(rows) != 2 || rows[0].Sink != "first" || rows[0].Parked != 1 || rows[0].Pending != 0 {
		t.Fatalf("outbox status -o json: %v %v", err, r)
	}
	if r := ctl(t, env, "outbox", "replay", "nowhere"); r.code != 2 || !strings.Contains(r.errOut, `no sink "nowhere" in VPNGW_QUEUE_URL: want one of first, chat`) {
		t.Fatalf("replay of an unknown sink: %v", r)
	}
	r = ctl(t, env, "outbox", "replay", "first")
	if r.code != 0 || !strings.Contains(r.out, "1 parked events of sink first returned") {
		t.Fatalf("replay: %v", r)
	}
	if n, err := st.CountParkedFor(ctx, store.FirstSink); err != nil || n != 0 {
		t.Fatalf("parked after replay: %d %v", n, err)
	}
	if _, err := s.App.Outbox.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range s.WaitMessages(2) {
		found = found || strings.Contains(string(m), "ev-ob-2")
	}
	if !found {
		t.Error("the replayed event was not published by the next drain")
	}
}

// rowOf returns the fields of the table row that starts with first.
func rowOf(table, first string) []string {
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == first {
			return f
		}
	}
	return make([]string, 5)
}

// outgoingEvent is an outcome event as the outbox holds it.
func outgoingEvent(id string) outgoing.Event {
	return outgoing.Event{ID: id, Type: "io.vpngw.gateway.failed",
		Body: []byte(`{"specversion":"1.0","id":"` + id + `","source":"vpngw","type":"io.vpngw.gateway.failed","datacontenttype":"application/json","data":{}}`)}
}
