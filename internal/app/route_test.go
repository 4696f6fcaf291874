package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/reconcile"
)

// ticketsPolicy allows the ticket requests of validData up to 20 Mbit/s
// and no other requester.
const ticketsPolicy = `version: 1
rules:
  - name: ticketing
    match:
      source: "acs:eventbridge:tickets"
    regions: [cn-hangzhou]
    vpcs: ["vpc-bp1vpngwdemo*"]
    maxBandwidth: 20
    chargeTypes: [POSTPAY]
`

// routePolicy routes the ticketing rule's outcomes to the sink called
// tickets; the other rule routes nowhere in particular.
const routePolicy = ticketsPolicy + `    sinks: [tickets]
  - name: platform
    match:
      source: "/platform"
    regions: [cn-hangzhou]
    vpcs: ["vpc-bp1vpngwdemo*"]
    maxBandwidth: 20
    chargeTypes: [POSTPAY]
`

// TestRoutingByRule: three sinks, the twin's NATS (unnamed), tickets=an
// HTTP receiver and another HTTP receiver (unnamed). The ticketing rule's
// outcomes, its denial too, reach the tickets sink alone; the other rule's
// reach both unnamed sinks and never the tickets sink. Every event is
// settled: nothing waits for a sink that is not to get it.
func TestRoutingByRule(t *testing.T) {
	recv := queuetest.NewHTTPReceiver(t, testSinkSecret)
	s := newStack(t, apptest.WithSinks("tickets="+recv.URL+"/tickets", recv.URL+"/other"),
		apptest.WithEnv(map[string]string{"VPNGW_SINK_SECRET": testSinkSecret, "VPNGW_POLICY_INLINE": routePolicy}))

	if _, err := s.provision(requestEvent("evt-ticket", validData())); err != nil {
		t.Fatal(err)
	}
	over := validData()
	over["Bandwidth"] = 200
	if _, err := s.provision(requestEvent("evt-ticket-denied", over)); err != nil {
		t.Fatal(err)
	}
	platform := strings.Replace(string(requestEvent("evt-platform", validData())), `"source":"acs:eventbridge:tickets"`, `"source":"/platform"`, 1)
	if _, err := s.provision([]byte(platform)); err != nil {
		t.Fatal(err)
	}
	s.tickActive(2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	want := func(name string, in <-chan queuetest.Received, types ...string) {
		t.Helper()
		got := receivedTypes(t, in, len(types))
		if !slices.Equal(got, types) {
			t.Errorf("%s got %v, want %v", name, got, types)
		}
		expectNone(t, in, name)
	}
	want("the tickets sink", recv.Path("/tickets"), events.TypeAccepted, events.TypeFailed, events.TypeActive)
	want("the unnamed HTTP sink", recv.Path("/other"), events.TypeAccepted, events.TypeActive)
	var onNATS []string
	for _, e := range s.Events(2) {
		if !strings.Contains(string(e.Data), `"evt-platform"`) {
			t.Errorf("the unnamed NATS sink got %s of another request: %s", e.Type, e.Data)
		}
		onNATS = append(onNATS, e.Type)
	}
	if wantNATS := []string{events.TypeAccepted, events.TypeActive}; !slices.Equal(onNATS, wantNATS) {
		t.Errorf("the unnamed NATS sink got %v, want %v", onNATS, wantNATS)
	}
	if left, err := s.App.Store.Unsent(ctx, 10); err != nil || len(left) != 0 {
		t.Errorf("events not settled: %d, %v", len(left), err)
	}
}

// TestRoutingCoversABatch: a batch's items and its summary go where the
// rule matching the batch's requester routes them, and nowhere else.
func TestRoutingCoversABatch(t *testing.T) {
	recv := queuetest.NewHTTPReceiver(t, testSinkSecret)
	nightly := strings.Replace(strings.Replace(ticketsPolicy, "acs:eventbridge:tickets", "/batch/nightly", 1), "name: ticketing", "name: nightly", 1) + "    sinks: [tickets]\n"
	s := newStack(t, apptest.WithSinks("tickets="+recv.URL+"/tickets"),
		apptest.WithEnv(map[string]string{"VPNGW_SINK_SECRET": testSinkSecret, "VPNGW_POLICY_INLINE": nightly}))
	item := validData()
	if _, err := s.provision(batchEvent("batch-routed", []map[string]any{item})); err != nil {
		t.Fatal(err)
	}
	s.tickActive(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = s.App.Reconcile.Tick(ctx, reconcile.Options{}) // the batch's summary, once its item is settled
	in := recv.Path("/tickets")
	if got := receivedTypes(t, in, 3); !slices.Equal(got, []string{events.TypeAccepted, events.TypeActive, events.TypeBatchCompleted}) {
		t.Errorf("the tickets sink got %v, want accepted, active and the batch's summary", got)
	}
	expectNone(t, in, "the tickets sink")
	if got := s.Events(0); len(got) != 0 {
		t.Errorf("the unnamed NATS sink got %d events of a routed batch, want none", len(got))
	}
}

// TestRoutingCoversDeletes: the outcomes of a delete request, its denial
// too, go where the rule that decides it routes them, as a create's do,
// and never to the unnamed sinks.
func TestRoutingCoversDeletes(t *testing.T) {
	recv := queuetest.NewHTTPReceiver(t, testSinkSecret)
	deleting := strings.Replace(routePolicy, "    sinks: [tickets]\n", "    sinks: [tickets]\n    actions: [create, delete]\n", 1)
	s := newStack(t, apptest.WithSinks("tickets="+recv.URL+"/tickets"),
		apptest.WithEnv(map[string]string{"VPNGW_SINK_SECRET": testSinkSecret, "VPNGW_POLICY_INLINE": deleting}))
	if _, err := s.provision(requestEvent("evt-ticket", validData())); err != nil {
		t.Fatal(err)
	}
	platform := strings.Replace(string(requestEvent("evt-platform", validData())), `"source":"acs:eventbridge:tickets"`, `"source":"/platform"`, 1)
	if _, err := s.provision([]byte(platform)); err != nil {
		t.Fatal(err)
	}
	s.tickActive(2)
	in := recv.Path("/tickets")
	if got := receivedTypes(t, in, 2); !slices.Equal(got, []string{events.TypeAccepted, events.TypeActive}) {
		t.Fatalf("the tickets sink got %v before the deletes", got)
	}
	natsBefore := len(s.Events(2))
	// The ticketing rule denies deleting the platform's gateway
	// (deleteOwnOnly), and allows deleting its own.
	if res := s.deleteOne(deleteEvent("del-platform", map[string]any{"Request": map[string]any{"Source": "/platform", "Id": "evt-platform"}})); res.Code != events.CodePolicyDenied {
		t.Fatalf("delete of the platform's gateway: %+v", res)
	}
	if res := s.deleteOne(deleteEvent("del-ticket", map[string]any{"Request": map[string]any{"Source": "acs:eventbridge:tickets", "Id": "evt-ticket"}})); res.Code != "" {
		t.Fatalf("delete of the ticket's gateway: %+v", res)
	}
	s.Clock.Advance(31 * time.Second)
	if rep := s.tick(); rep.Deleted != 1 {
		t.Fatalf("tick %+v", rep)
	}
	if got := receivedTypes(t, in, 2); !slices.Equal(got, []string{events.TypeFailed, events.TypeDeleted}) {
		t.Errorf("the tickets sink got %v, want the denial and the deletion", got)
	}
	expectNone(t, in, "the tickets sink")
	if got := s.Events(0); len(got) != natsBefore {
		for _, e := range got[natsBefore:] {
			t.Errorf("the unnamed NATS sink got %s: %s", e.Type, e.Data)
		}
	}
}
