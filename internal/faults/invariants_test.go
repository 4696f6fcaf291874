package faults

import (
	"fmt"
	"sort"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// observed is everything a scenario leaves behind, as seen from outside the
// pipeline: the emulator's gateways and the CreateVpnGateway calls it got,
// the store's rows, and what the broker's consumers received.
type observed struct {
	plan     []planned
	gateways []vpcsim.Gateway
	// createsByToken counts CreateVpnGateway calls per ClientToken, as the
	// emulator received them.
	createsByToken map[string]int
	records        []store.Request
	unsent         int           // outbox events never published (nor parked)
	parked         []store.Event // outbox events parked: the broker refused them for good
	stream         []received    // the JetStream stream, read by a consumer
	plain          []received    // a plain NATS subscription on vpngw.>
	// plainComplete says the plain subscriber was connected for the whole
	// run, so it must have seen every event; a broker outage breaks that,
	// as plain NATS delivers at most once.
	plainComplete bool
}

// verdict is what the invariants found.
type verdict struct {
	violations      []string
	streamEvents    int
	plainEvents     int
	plainDuplicates int // messages on the plain subscription repeating an id
}

// checkInvariants checks every invariant for every planned request:
//
//  1. the emulator holds exactly one gateway per valid request (by its
//     ClientToken) and none for the others, and no gateway nobody asked for;
//  2. the stream holds exactly one terminal event id per request, of the
//     type its kind must end in, with the deterministic id, each id once
//     (duplicates on the plain subscription are allowed and counted);
//  3. the store holds one record per request, terminal, in the state its
//     kind must end in, every failure with a reason (last_error, and Code and
//     Message in the event); nothing left in the outbox; the terminal event
//     of an oversized request parked there with the broker's reason instead
//     of published, and nothing else parked;
//  4. every valid request has exactly one accepted event id, naming the
//     gateway the API holds, and no other request has one; a request that
//     failed validation never reached the API.
func checkInvariants(o observed) verdict {
	var v verdict
	bad := func(format string, args ...any) { v.violations = append(v.violations, fmt.Sprintf(format, args...)) }

	byToken := map[string][]vpcsim.Gateway{}
	for _, g := range o.gateways {
		byToken[g.ClientToken] = append(byToken[g.ClientToken], g)
	}
	byKey := map[string]planned{}
	tokens := map[string]bool{}
	for _, p := range o.plan {
		byKey[p.Key] = p
		tokens[p.Token] = true
	}
	for tok, gws := range byToken {
		if !tokens[tok] {
			bad("gateway %s has ClientToken %q, which no request sent", gws[0].ID, tok)
		}
	}

	// The stream, per request and type: distinct ids and copies of each.
	type idCount map[string]int
	stream := map[string]map[string]idCount{}
	eventOf := map[string]received{}
	for _, e := range o.stream {
		key := request.Identity{Source: e.Data.Request.Source, EventID: e.Data.Request.Id}.Key()
		if _, ok := byKey[key]; !ok {
			bad("stream event %s (%s) names request %q/%q, which is not in the plan", e.ID, e.Type, e.Data.Request.Source, e.Data.Request.Id)
			continue
		}
		if e.Source != events.Source {
			bad("stream event %s has source %q, want %q", e.ID, e.Source, events.Source)
		}
		if stream[key] == nil {
			stream[key] = map[string]idCount{}
		}
		if stream[key][e.Type] == nil {
			stream[key][e.Type] = idCount{}
		}
		stream[key][e.Type][e.ID]++
		eventOf[e.ID] = e
	}
	v.streamEvents = len(o.stream)

	records := map[string]store.Request{}
	for _, r := range o.records {
		if _, ok := byKey[r.Key]; !ok {
			bad("store holds request %s (%q/%q, %s), which is not in the plan", r.Key, r.Source, r.EventID, r.State)
			continue
		}
		records[r.Key] = r
	}
	if o.unsent != 0 {
		bad("outbox: %d events never published", o.unsent)
	}
	parked := map[string][]store.Event{}
	for _, e := range o.parked {
		parked[e.ID] = append(parked[e.ID], e)
	}

	for _, p := range o.plan {
		name := fmt.Sprintf("request %d (%s, %s)", p.Index, p.Kind, p.Identity.EventID)
		gws := byToken[p.Token]

		// 1. Gateways.
		wantGateways := 0
		if p.Kind == valid {
			wantGateways = 1
		}
		if len(gws) != wantGateways {
			bad("%s: %d gateways with ClientToken %s, want %d", name, len(gws), p.Token, wantGateways)
		}
		var gatewayID string
		if len(gws) == 1 {
			gatewayID = gws[0].ID
			if p.Kind == valid && gws[0].Status != "active" {
				bad("%s: gateway %s is %q at the end, want active", name, gatewayID, gws[0].Status)
			}
		}

		// 2. Exactly one terminal outcome, under one id, stored once.
		types := stream[p.Key]
		var terminal []string
		for _, typ := range []string{events.TypeActive, events.TypeFailed} {
			for id, n := range types[typ] {
				terminal = append(terminal, typ+" "+id)
				if n != 1 {
					bad("%s: the stream holds %s event %s %d times; JetStream should have dropped the repeats", name, typ, id, n)
				}
			}
		}
		sort.Strings(terminal)
		want := p.Kind.wantTerminal()
		wantID := outcome.ID(p.Key, want)
		if p.Kind == oversized {
			// Too large for the broker: parked once, with a reason, and
			// never in the stream.
			if len(terminal) != 0 {
				bad("%s: terminal events %v in the stream, want its failed event parked instead", name, terminal)
			}
			switch ps := parked[wantID]; {
			case len(ps) != 1:
				bad("%s: its failed event %s parked %d times, want once", name, wantID, len(ps))
			case ps[0].Type != want || ps[0].RequestKey != p.Key || ps[0].ParkedReason == "":
				bad("%s: parked event %s is %s for %s with reason %q, want its %s with the broker's reason", name, wantID, ps[0].Type, ps[0].RequestKey, ps[0].ParkedReason, want)
			}
			delete(parked, wantID)
		}
		switch {
		case p.Kind == oversized:
		case len(terminal) != 1:
			bad("%s: %d terminal events in the stream %v, want exactly one %s", name, len(terminal), terminal, want)
		case terminal[0] != want+" "+wantID:
			bad("%s: terminal event %s, want %s %s", name, terminal[0], want, wantID)
		default:
			e := eventOf[wantID]
			if want == events.TypeFailed {
				if e.Data.Code == "" || e.Data.Message == "" {
					bad("%s: failed event %s without Code or Message: %+v", name, e.ID, e.Data)
				}
				wantStage := events.StageValidation
				if p.Kind == refused {
					wantStage = events.StageCreate
				}
				if e.Data.Stage != wantStage {
					bad("%s: failed at stage %q (%s), want %q", name, e.Data.Stage, e.Data.Code, wantStage)
				}
			} else if e.Data.VpnGatewayId != gatewayID || e.Subject != gatewayID {
				bad("%s: active event names gateway %q (subject %q), the API holds %q", name, e.Data.VpnGatewayId, e.Subject, gatewayID)
			}
		}
		for typ := range types {
			switch typ {
			case events.TypeActive, events.TypeFailed, events.TypeAccepted:
			default:
				bad("%s: unexpected %s event in the stream", name, typ)
			}
		}

		// 3. The record.
		rec, ok := records[p.Key]
		switch {
		case !ok:
			bad("%s: no record in the store", name)
		case !rec.State.Terminal():
			bad("%s: left %s in the store (attempts %d, last error %q)", name, rec.State, rec.Attempts, rec.LastError)
		case rec.State != p.Kind.wantState():
			bad("%s: ended %s in the store, want %s (last error %q)", name, rec.State, p.Kind.wantState(), rec.LastError)
		case rec.State == store.Failed && rec.LastError == "":
			bad("%s: failed without a reason in the store", name)
		case rec.State == store.Active && rec.GatewayID != gatewayID:
			bad("%s: store names gateway %q, the API holds %q", name, rec.GatewayID, gatewayID)
		}
		if ok && !p.Kind.failsValidation() && rec.ClientToken != p.Token {
			bad("%s: store records ClientToken %q, want %q", name, rec.ClientToken, p.Token)
		}

		// 4. Accepted exactly once for valid requests, never otherwise; no
		// API call for a request that failed validation.
		acc := types[events.TypeAccepted]
		if p.Kind == valid {
			wantAcc := outcome.ID(p.Key, events.TypeAccepted)
			if len(acc) != 1 || acc[wantAcc] != 1 {
				bad("%s: accepted events %v in the stream, want %s once", name, acc, wantAcc)
			} else if e := eventOf[wantAcc]; e.Data.VpnGatewayId != gatewayID {
				bad("%s: accepted event names gateway %q, the API holds %q", name, e.Data.VpnGatewayId, gatewayID)
			}
		} else if len(acc) != 0 {
			bad("%s: accepted events %v for a request that must fail", name, acc)
		}
		if n := o.createsByToken[p.Token]; p.Kind.failsValidation() && n != 0 {
			bad("%s: %d CreateVpnGateway calls for a request that failed validation", name, n)
		} else if !p.Kind.failsValidation() && n == 0 {
			bad("%s: no CreateVpnGateway call reached the API", name)
		}
	}

	for id, ps := range parked {
		bad("outbox: event %s (%s of %s) parked: %s", id, ps[0].Type, ps[0].RequestKey, ps[0].ParkedReason)
	}

	// The plain subscription: duplicates are fine; anything there must be in
	// the stream, and with the broker up throughout, everything in the
	// stream must have reached it.
	inStream := map[string]bool{}
	for _, e := range o.stream {
		inStream[e.ID] = true
	}
	seen := map[string]bool{}
	for _, e := range o.plain {
		if seen[e.ID] {
			v.plainDuplicates++
		}
		seen[e.ID] = true
		if !inStream[e.ID] {
			bad("plain subscriber got %s event %s, which is not in the stream", e.Type, e.ID)
		}
	}
	v.plainEvents = len(o.plain)
	if o.plainComplete {
		missing := 0
		for id := range inStream {
			if !seen[id] {
				missing++
			}
		}
		if missing > 0 {
			bad("plain subscriber missed %d of the stream's %d events with the broker up throughout", missing, len(inStream))
		}
	}
	return v
}
