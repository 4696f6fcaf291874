package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// No requester can make another's request fail by choosing a ClientToken:
// not by sending the token vpngw would derive for the victim's event, nor
// by sending first the token the victim itself gives, with other
// parameters. A requester's own token still makes its retries (new events)
// land on one gateway.
func TestClientTokenCannotBeSquatted(t *testing.T) {
	s := newStack(t)
	srv := s.intakeServer()
	const victim, attacker = "acs:eventbridge:tickets", "/someone/else"
	other := validData()
	other["Bandwidth"] = 5

	// The victim's derived token, sent first by another source with other
	// parameters.
	derived := request.ClientToken(request.Identity{Source: victim, EventID: "victim-1"}, "", events.GatewayRequest{})
	squat := validData()
	squat["Bandwidth"] = 5
	squat["ClientToken"] = derived
	status, out, raw := postStructured(t, srv, eventFrom(attacker, "squat-1", squat))
	if status == http.StatusAccepted {
		// Refusing the token outright is the expected answer; accepting it
		// is tolerable only when it cannot hurt the victim, checked below.
		t.Logf("squatting request with %s accepted: %s", derived, raw)
	}
	status, out, raw = postStructured(t, srv, eventFrom(victim, "victim-1", validData()))
	if status != http.StatusAccepted || out.Results[0].VpnGatewayId == "" {
		t.Fatalf("victim after its derived token was squatted: HTTP %d %s, want 202 with a gateway", status, raw)
	}

	// The victim's own token, sent first by another source.
	squat = validData()
	squat["Bandwidth"] = 5
	squat["ClientToken"] = "ticket-4711"
	if status, _, raw = postStructured(t, srv, eventFrom(attacker, "squat-2", squat)); status != http.StatusAccepted {
		t.Fatalf("the other source's own request: HTTP %d %s, want 202", status, raw)
	}
	mine := validData()
	mine["ClientToken"] = "ticket-4711"
	status, out, raw = postStructured(t, srv, eventFrom(victim, "victim-2", mine))
	if status != http.StatusAccepted || out.Results[0].State != store.Pending || out.Results[0].VpnGatewayId == "" {
		t.Fatalf("victim after its own token was used first: HTTP %d %s, want 202 with a gateway", status, raw)
	}
	first := out.Results[0].VpnGatewayId

	// The victim retries with a new event and the same token: the same
	// gateway, not a second one.
	status, out, raw = postStructured(t, srv, eventFrom(victim, "victim-2-retry", mine))
	if status != http.StatusAccepted || out.Results[0].VpnGatewayId != first {
		t.Fatalf("victim's retry with its token: HTTP %d %s, want the gateway %s again", status, raw, first)
	}
	g, err := s.API.Gateway(first)
	if err != nil {
		t.Fatal(err)
	}
	if g.Bandwidth != 10 {
		t.Fatalf("victim's gateway has Bandwidth %d, want the 10 it asked for", g.Bandwidth)
	}
	if len(g.ClientToken) > request.MaxClientTokenLength || strings.ContainsFunc(g.ClientToken, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		t.Fatalf("token sent to the API %q breaks its rules", g.ClientToken)
	}
}

// A ClientToken in the namespace of the tokens vpngw derives, or with
// control characters, is refused before any API call, naming the field.
func TestClientTokenRules(t *testing.T) {
	s := newStack(t)
	srv := s.intakeServer()
	for i, tok := range []string{"vpngw-1ce8311f92f35b638e78862f2dd03f6a", "VPNGW-x", "tok\x00en", "tok\nen", "tok\x7fen", "\ttoken"} {
		d := validData()
		d["ClientToken"] = tok
		status, out, raw := postStructured(t, srv, eventFrom("/ops/portal", "tok-"+strings.Repeat("x", i+1), d))
		if status != http.StatusBadRequest || out.Results[0].Code != events.CodeInvalidRequest {
			t.Fatalf("ClientToken %q: HTTP %d %s, want 400 InvalidRequest", tok, status, raw)
		}
		named := false
		for _, e := range out.Results[0].Errors {
			named = named || e.Field == "ClientToken"
		}
		if !named {
			t.Fatalf("ClientToken %q: errors %+v do not name ClientToken", tok, out.Results[0].Errors)
		}
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls, want 0", n)
	}
}
