package faults

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// settledObservation is what a correct run of plan leaves behind.
func settledObservation(plan []planned) observed {
	o := observed{plan: plan, createsByToken: map[string]int{}, plainComplete: true}
	for _, p := range plan {
		ref := func(typ string) received {
			e := received{ID: outcome.ID(p.Key, typ), Type: typ, Source: events.Source}
			e.Data.Request.Source, e.Data.Request.Id = p.Identity.Source, p.Identity.EventID
			return e
		}
		rec := store.Request{Key: p.Key, Source: p.Identity.Source, EventID: p.Identity.EventID, State: p.Kind.wantState()}
		switch p.Kind {
		case valid:
			gw := fmt.Sprintf("vpn-faults%06d", p.Index)
			o.gateways = append(o.gateways, vpcsim.Gateway{ID: gw, ClientToken: p.Token, Status: "active"})
			o.createsByToken[p.Token] = 2
			rec.ClientToken, rec.GatewayID = p.Token, gw
			acc, act := ref(events.TypeAccepted), ref(events.TypeActive)
			acc.Subject, acc.Data.VpnGatewayId = gw, gw
			act.Subject, act.Data.VpnGatewayId = gw, gw
			o.stream = append(o.stream, acc, act)
		case refused:
			o.createsByToken[p.Token] = 1
			rec.ClientToken, rec.LastError = p.Token, "InvalidVpcId.NotFound"
			f := ref(events.TypeFailed)
			f.Data.Stage, f.Data.Code, f.Data.Message = events.StageCreate, "InvalidVpcId.NotFound", "Specified VPC does not exist."
			o.stream = append(o.stream, f)
		case oversized:
			rec.LastError = "UnknownParameterNumber00: not a parameter"
			o.parked = append(o.parked, store.Event{RequestKey: p.Key, Event: outgoing.Event{ID: outcome.ID(p.Key, events.TypeFailed), Type: events.TypeFailed},
				ParkedReason: "message larger than the broker accepts"})
		case invalid:
			rec.LastError = "Bandwidth: 7 is not allowed"
			f := ref(events.TypeFailed)
			f.Data.Stage, f.Data.Code, f.Data.Message = events.StageValidation, events.CodeInvalidRequest, "Bandwidth: 7 is not allowed"
			o.stream = append(o.stream, f)
		}
		o.records = append(o.records, rec)
	}
	// Every event reached the plain subscriber twice: allowed.
	o.plain = append(append(o.plain, o.stream...), o.stream...)
	return o
}

// The invariants find each kind of violation, and none in a correct run: a
// checker that could not fail would make the whole suite meaningless.
func TestInvariantsFindViolations(t *testing.T) {
	plan := newPlan(t, "inv", 20)
	first := func(k kind) planned {
		for _, p := range plan {
			if p.Kind == k {
				return p
			}
		}
		t.Fatalf("no %s request in the plan", k)
		return planned{}
	}
	v, i, r := first(valid), first(invalid), first(refused)

	good := checkInvariants(settledObservation(plan))
	if len(good.violations) != 0 {
		t.Fatalf("a correct run has violations: %v", good.violations)
	}
	if good.streamEvents != 17*2+3 || good.plainDuplicates != good.streamEvents {
		t.Fatalf("counts: %+v, want %d stream events, each duplicated once on the plain subscription", good, 17*2+3)
	}

	for _, tc := range []struct {
		name   string
		break_ func(o *observed)
		want   string
	}{
		{"second gateway for a request", func(o *observed) {
			o.gateways = append(o.gateways, vpcsim.Gateway{ID: "vpn-dup", ClientToken: v.Token, Status: "active"})
		}, "2 gateways with ClientToken"},
		{"gateway nobody asked for", func(o *observed) {
			o.gateways = append(o.gateways, vpcsim.Gateway{ID: "vpn-stray", ClientToken: "other", Status: "active"})
		}, "which no request sent"},
		{"gateway for a refused request", func(o *observed) {
			o.gateways = append(o.gateways, vpcsim.Gateway{ID: "vpn-r", ClientToken: r.Token, Status: "active"})
		}, "1 gateways with ClientToken"},
		{"gateway still provisioning", func(o *observed) { o.gateways[0].Status = "init" }, "want active"},
		{"no terminal event", func(o *observed) { o.stream = drop(o.stream, outcome.ID(v.Key, events.TypeActive)) }, "0 terminal events"},
		{"active and failed", func(o *observed) {
			f := received{ID: outcome.ID(v.Key, events.TypeFailed), Type: events.TypeFailed, Source: events.Source}
			f.Data.Request.Source, f.Data.Request.Id = v.Identity.Source, v.Identity.EventID
			o.stream = append(o.stream, f)
		}, "2 terminal events"},
		{"republished event kept twice in the stream", func(o *observed) {
			o.stream = append(o.stream, find(o.stream, outcome.ID(i.Key, events.TypeFailed)))
		}, "2 times; JetStream"},
		{"terminal event under another id", func(o *observed) {
			for k := range o.stream {
				if o.stream[k].ID == outcome.ID(v.Key, events.TypeActive) {
					o.stream[k].ID = "not-deterministic"
				}
			}
		}, "terminal event io.vpngw.gateway.active not-deterministic"},
		{"failed without a code", func(o *observed) {
			for k := range o.stream {
				if o.stream[k].ID == outcome.ID(r.Key, events.TypeFailed) {
					o.stream[k].Data.Code = ""
				}
			}
		}, "without Code or Message"},
		{"refused request reported at validation", func(o *observed) {
			for k := range o.stream {
				if o.stream[k].ID == outcome.ID(r.Key, events.TypeFailed) {
					o.stream[k].Data.Stage = events.StageValidation
				}
			}
		}, `want "create"`},
		{"left pending", func(o *observed) { setState(o, v.Key, store.Pending, "") }, "left pending"},
		{"failed without a reason", func(o *observed) { setState(o, i.Key, store.Failed, "") }, "without a reason"},
		{"record missing", func(o *observed) { o.records = o.records[1:] }, "no record"},
		{"outbox not empty", func(o *observed) { o.unsent = 3 }, "3 events never published"},
		{"accepted twice under two ids", func(o *observed) {
			e := find(o.stream, outcome.ID(v.Key, events.TypeAccepted))
			e.ID = "another"
			o.stream = append(o.stream, e)
		}, "accepted events"},
		{"accepted for an invalid request", func(o *observed) {
			e := received{ID: outcome.ID(i.Key, events.TypeAccepted), Type: events.TypeAccepted, Source: events.Source}
			e.Data.Request.Source, e.Data.Request.Id = i.Identity.Source, i.Identity.EventID
			o.stream = append(o.stream, e)
		}, "for a request that must fail"},
		{"invalid request reached the API", func(o *observed) { o.createsByToken[i.Token] = 1 }, "failed validation"},
		{"plain subscriber missed an event", func(o *observed) {
			o.plain = drop(o.plain, outcome.ID(r.Key, events.TypeFailed))
		}, "missed 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := settledObservation(plan)
			tc.break_(&o)
			got := checkInvariants(o)
			for _, msg := range got.violations {
				if strings.Contains(msg, tc.want) {
					return
				}
			}
			t.Fatalf("no violation mentions %q; got %v", tc.want, got.violations)
		})
	}
}

func drop(evs []received, id string) []received {
	var out []received
	for _, e := range evs {
		if e.ID != id {
			out = append(out, e)
		}
	}
	return out
}

func find(evs []received, id string) received {
	for _, e := range evs {
		if e.ID == id {
			return e
		}
	}
	return received{}
}

func setState(o *observed, key string, st store.State, lastError string) {
	for k := range o.records {
		if o.records[k].Key == key {
			o.records[k].State, o.records[k].LastError = st, lastError
		}
	}
}

// The invariants of the oversized-outcome scenario: an oversized request's
// failed event parked once with a reason and never in the stream, nothing
// else parked.
func TestInvariantsFindParkingViolations(t *testing.T) {
	plan := newPlanWith(t, "inv", 20, true)
	var big, ok planned
	for _, p := range plan {
		switch p.Kind {
		case oversized:
			big = p
		case valid:
			ok = p
		}
	}
	if big.Key == "" {
		t.Fatal("no oversized request in the plan")
	}
	if got := checkInvariants(settledObservation(plan)); len(got.violations) != 0 {
		t.Fatalf("a correct run has violations: %v", got.violations)
	}
	bigFailed := outcome.ID(big.Key, events.TypeFailed)
	for _, tc := range []struct {
		name   string
		break_ func(o *observed)
		want   string
	}{
		{"oversized event neither parked nor published", func(o *observed) { o.parked = nil }, "parked 0 times"},
		{"oversized event published after all", func(o *observed) {
			f := received{ID: bigFailed, Type: events.TypeFailed, Source: events.Source}
			f.Data.Request.Source, f.Data.Request.Id = big.Identity.Source, big.Identity.EventID
			o.stream = append(o.stream, f)
		}, "want its failed event parked instead"},
		{"parked without a reason", func(o *observed) { o.parked[0].ParkedReason = "" }, "with the broker's reason"},
		{"another event parked", func(o *observed) {
			o.parked = append(o.parked, store.Event{RequestKey: ok.Key, Event: outgoing.Event{ID: outcome.ID(ok.Key, events.TypeActive), Type: events.TypeActive}, ParkedReason: "x"})
		}, "parked: x"},
		{"oversized request reached the API", func(o *observed) { o.createsByToken[big.Token] = 1 }, "failed validation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := settledObservation(plan)
			tc.break_(&o)
			for _, msg := range checkInvariants(o).violations {
				if strings.Contains(msg, tc.want) {
					return
				}
			}
			t.Fatalf("no violation mentions %q; got %v", tc.want, checkInvariants(o).violations)
		})
	}
}
