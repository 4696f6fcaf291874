package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// expiringEvent is requestEvent with the vpngwexpires extension attribute.
func expiringEvent(id, expires string) []byte {
	var ev map[string]any
	_ = json.Unmarshal(requestEvent(id, validData()), &ev)
	ev["vpngwexpires"] = expires
	b, _ := json.Marshal(ev)
	return b
}

// A gateway asked for with vpngwexpires 48h, on the emulator's clock: it is
// tagged with its expiry, warned of 24 hours and 1 hour before (once each,
// however many ticks run in between), then deleted at its expiry through
// the delete path, with deleted announced for the delete request of its
// own ("<id>/expiry") and the create request's record deleted.
func TestExpiryWarnsOnceEachThenDeletes(t *testing.T) {
	s := newStack(t)
	resp, err := s.provision(expiringEvent("exp-1", "48h"))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].VpnGatewayId == "" {
		t.Fatalf("create: %+v %v", resp, err)
	}
	gw := resp.Results[0].VpnGatewayId
	expires := apptest.Start.Add(48 * time.Hour)
	g, err := s.API.Gateway(gw)
	if err != nil {
		t.Fatal(err)
	}
	if v := tagValue(g, policy.TagExpires); v != expires.Format(time.RFC3339) {
		t.Fatalf("gateway tag %s = %q, want %s", policy.TagExpires, v, expires.Format(time.RFC3339))
	}
	s.Clock.Advance(3 * time.Minute)
	if rep := s.tick(); rep.Active != 1 || rep.Expiring != 0 {
		t.Fatalf("first tick %+v, want active and no warning (48 h left)", rep)
	}
	warnings := func() []events.Expiring {
		var out []events.Expiring
		for _, e := range s.EventsOfType(events.TypeExpiring) {
			var d events.Expiring
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			if e.Subject != gw {
				t.Errorf("expiring subject %q, want %s", e.Subject, gw)
			}
			out = append(out, d)
		}
		return out
	}
	// Past 24 hours left: one warning, however many ticks.
	s.Clock.Advance(24*time.Hour + time.Minute)
	for range 3 {
		s.tick()
		s.Clock.Advance(10 * time.Minute)
	}
	if w := warnings(); len(w) != 1 || w[0].Within != events.ExpiringWithinDay || w[0].VpnGatewayId != gw ||
		w[0].ExpiresAt != expires.Format(time.RFC3339) || w[0].Request.EventID != "exp-1" {
		t.Fatalf("expiring events after three ticks within 24 h: %+v, want one, within 24h", w)
	}
	// Within the hour: the second warning, once.
	s.Clock.Advance(expires.Add(-50 * time.Minute).Sub(s.Clock.Now()))
	for range 3 {
		s.tick()
		s.Clock.Advance(5 * time.Minute)
	}
	if w := warnings(); len(w) != 2 || w[1].Within != events.ExpiringWithinHour {
		t.Fatalf("expiring events within the hour: %+v, want the 24h one then one 1h", w)
	}
	if n := s.API.Calls("DeleteVpnGateway"); n != 0 {
		t.Fatalf("DeleteVpnGateway called %d times before the expiry", n)
	}
	// At the expiry: deleted as a delete request would be.
	s.Clock.Advance(expires.Add(time.Second).Sub(s.Clock.Now()))
	if rep := s.tick(); rep.Expired != 1 {
		t.Fatalf("tick at the expiry: %+v, want one expired", rep)
	}
	if g, err := s.API.Gateway(gw); err != nil || g.Status != vpcsim.StatusDeleting {
		t.Fatalf("emulator after the expiry: %+v %v, want deleting", g, err)
	}
	s.Clock.Advance(31 * time.Second)
	if rep := s.tick(); rep.Deleted != 1 {
		t.Fatalf("tick after the deletion delay: %+v, want 1 deleted", rep)
	}
	s.tick()
	if n := s.API.Calls("DeleteVpnGateway"); n != 1 {
		t.Fatalf("DeleteVpnGateway called %d times, want 1", n)
	}
	d := onlyEvent[events.Deleted](t, s, events.TypeDeleted)
	if d.VpnGatewayId != gw || d.Request.EventID != "exp-1/expiry" || d.Request.Source != "acs:eventbridge:tickets" ||
		d.Created == nil || d.Created.EventID != "exp-1" {
		t.Fatalf("deleted event %+v", d)
	}
	if len(warnings()) != 2 {
		t.Fatalf("expiring events after the deletion: %+v", warnings())
	}
	created, err := s.App.Store.CreatedGateway(context.Background(), gw)
	if err != nil || created.State != store.Deleted {
		t.Fatalf("create request after the expiry: %v %v", created.State, err)
	}
}

// A gateway whose life is shorter than an hour is warned once (within 1h),
// not twice.
func TestShortExpiryWarnsOnce(t *testing.T) {
	s := newStack(t)
	resp, err := s.provision(expiringEvent("exp-short", "30m"))
	if err != nil || len(resp.Results) != 1 {
		t.Fatalf("create: %+v %v", resp, err)
	}
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	s.Clock.Advance(time.Minute)
	s.tick()
	evs := s.EventsOfType(events.TypeExpiring)
	if len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"Within":"1h"`) {
		t.Fatalf("expiring events %+v, want one within 1h", evs)
	}
}

// Bad vpngwexpires values are refused at validation naming the attribute
// and its forms; a time in the past too. A rule's requireExpiry and
// maxLifetime deny what they do not allow, naming the key.
func TestExpiryRefusals(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": `version: 1
rules:
  - name: vendors
    match: {source: "acs:eventbridge:tickets"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 100
    chargeTypes: [POSTPAY]
    requireExpiry: true
    maxLifetime: 168h
`}))
	for i, tc := range []struct {
		expires string // "" sends none
		code    string
		field   string
		says    string
	}{
		{"next week", events.CodeInvalidRequest, "vpngwexpires", "RFC 3339"},
		{"-5m", events.CodeInvalidRequest, "vpngwexpires", "positive"},
		{"2026-11-24T10:00:00Z", events.CodeInvalidRequest, "vpngwexpires", "in the past"},
		{"", events.CodePolicyDenied, "vpngwexpires", "requireExpiry"},
		{"169h", events.CodePolicyDenied, "vpngwexpires", "maxLifetime"},
		{"2026-12-09T10:00:00Z", events.CodePolicyDenied, "vpngwexpires", "maxLifetime"},
	} {
		payload := requestEvent("bad-exp-"+string(rune('a'+i)), validData())
		if tc.expires != "" {
			payload = expiringEvent("bad-exp-"+string(rune('a'+i)), tc.expires)
		}
		resp, _ := s.provision(payload)
		if len(resp.Results) != 1 {
			t.Fatalf("%q: %+v", tc.expires, resp)
		}
		r := resp.Results[0]
		if r.State != store.Failed || r.Code != tc.code || !strings.Contains(r.Message, tc.says) ||
			len(r.Errors) == 0 || r.Errors[0].Field != tc.field {
			t.Errorf("vpngwexpires %q answered %+v, want %s naming %s (%s)", tc.expires, r, tc.code, tc.field, tc.says)
		}
	}
	// Within the cap: allowed.
	resp, err := s.provision(expiringEvent("ok-exp", "168h"))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].State != store.Pending {
		t.Fatalf("168h under a 168h cap: %+v %v", resp, err)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 1 {
		t.Fatalf("CreateVpnGateway called %d times, want 1 (the allowed one)", n)
	}
}

func tagValue(g vpcsim.Gateway, key string) string {
	for _, t := range g.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// A batch's vpngwexpires applies to every item, resolved once: each
// gateway carries the same vpngw:expires, and one in the past refuses the
// batch naming vpngwexpires.
func TestBatchExpiry(t *testing.T) {
	s := newStack(t)
	withExpiry := func(id, expires string) []byte {
		var ev map[string]any
		_ = json.Unmarshal(batchEvent(id, []map[string]any{validData(), validData()}), &ev)
		ev["vpngwexpires"] = expires
		b, _ := json.Marshal(ev)
		return b
	}
	if _, err := s.provision(withExpiry("batch-exp", "72h")); err != nil {
		t.Fatal(err)
	}
	gws := s.API.Gateways()
	if len(gws) != 2 {
		t.Fatalf("%d gateways, want 2", len(gws))
	}
	want := apptest.Start.Add(72 * time.Hour).Format(time.RFC3339)
	for _, g := range gws {
		if v := tagValue(g, policy.TagExpires); v != want {
			t.Errorf("gateway %s tag %s = %q, want %s", g.ID, policy.TagExpires, v, want)
		}
	}
	resp, _ := s.provision(withExpiry("batch-past", "2026-11-24T00:00:00Z"))
	if len(resp.Results) != 1 || resp.Results[0].State != store.Failed || len(resp.Results[0].Errors) == 0 ||
		resp.Results[0].Errors[0].Field != "vpngwexpires" {
		t.Fatalf("batch with an expiry in the past: %+v", resp)
	}
	if n := len(s.API.Gateways()); n != 2 {
		t.Fatalf("%d gateways after the refused batch, want 2", n)
	}
}

// A deletion at expiry the API refuses (connections attached) is announced
// failed with Stage deletion and the API's code, and not asked again on
// every tick: the gateway stays, for the operator.
func TestExpiryDeletionRefused(t *testing.T) {
	s := newStack(t)
	resp, err := s.provision(expiringEvent("exp-refused", "2h"))
	if err != nil || len(resp.Results) != 1 {
		t.Fatalf("create: %+v %v", resp, err)
	}
	gw := resp.Results[0].VpnGatewayId
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	if err := s.API.SetIpsecConnections(gw, 1); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(2 * time.Hour)
	if rep := s.tick(); rep.Expired != 0 {
		t.Fatalf("tick at the expiry: %+v, want nothing expired (refused)", rep)
	}
	f := onlyEvent[events.Failed](t, s, events.TypeFailed)
	if f.Stage != events.StageDeletion || f.Code != "DependencyViolation.VpnConnection" || f.Request.EventID != "exp-refused/expiry" {
		t.Fatalf("failed event %+v", f)
	}
	for range 3 {
		s.Clock.Advance(time.Minute)
		s.tick()
	}
	if n := s.API.Calls("DeleteVpnGateway"); n != 1 {
		t.Fatalf("DeleteVpnGateway called %d times, want 1", n)
	}
	expiring, err := s.App.Store.Expiring(context.Background(), s.Clock.Now().Add(time.Hour), 10)
	if err != nil || len(expiring) != 0 {
		t.Fatalf("still expiring after the refusal: %d %v", len(expiring), err)
	}
	if g, err := s.API.Gateway(gw); err != nil || g.Status != vpcsim.StatusActive {
		t.Fatalf("gateway after the refusal: %+v %v", g, err)
	}
}

// The deletion at expiry was allowed with the create request: a policy
// whose rules allow creating alone (no delete action) still has the
// gateway deleted at its expiry.
func TestExpiryDeletesUnderAPolicyThatAllowsNoDeleting(t *testing.T) {
	createOnly := strings.NewReplacer("    actions: [create, delete]\n", "", "    deleteOwnOnly: false\n", "").Replace(app.LocalPolicy)
	if strings.Contains(createOnly, "delete") {
		t.Fatalf("policy still allows deleting:\n%s", createOnly)
	}
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": createOnly}))
	resp, err := s.provision(expiringEvent("exp-nodelete", "2h"))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].VpnGatewayId == "" {
		t.Fatalf("create: %+v %v", resp, err)
	}
	gw := resp.Results[0].VpnGatewayId
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	s.Clock.Advance(2 * time.Hour)
	for range 3 {
		s.tick()
		s.Clock.Advance(time.Minute)
	}
	if _, err := s.API.Gateway(gw); err == nil {
		t.Fatalf("gateway %s still held by the emulator after its expiry", gw)
	}
	if len(s.EventsOfType(events.TypeDeleted)) != 1 {
		t.Fatalf("deleted events: %d, want 1", len(s.EventsOfType(events.TypeDeleted)))
	}
}
