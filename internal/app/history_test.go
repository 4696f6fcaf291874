package app_test

import (
	"encoding/json"
	"fmt"
	"github.com/vpngw/vpngw/internal/apptest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// historyEntry is an entry of the History GET /requests/{source}/{id}
// answers with.
type historyEntry struct {
	At           time.Time
	State        store.State
	Actor        string
	Reason       string
	VpnGatewayId string
}

// history reads a request's history as a requester does: GET
// /requests/{source}/{id} on the HTTP intake.
func (s *stack) history(source, id string) []historyEntry {
	s.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/requests/"+url.PathEscape(source)+"/"+url.PathEscape(id), nil)
	w := httptest.NewRecorder()
	s.App.HTTPHandler().ServeHTTP(w, r)
	var got struct {
		State   store.State
		History []historyEntry
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != http.StatusOK || err != nil {
		s.t.Fatalf("GET %s: %d %s", r.URL, w.Code, w.Body)
	}
	if n := len(got.History); n == 0 || got.History[n-1].State != got.State {
		s.t.Errorf("%s/%s: state %s, history %+v: want the state the last entry's", source, id, got.State, got.History)
	}
	return got.History
}

// step is what a test expects of an entry: its state and actor, and what
// its reason contains ("|" between several).
type step struct {
	State  store.State
	Actor  string
	Reason string
}

func checkHistory(t *testing.T, name string, got []historyEntry, want ...step) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i].State == want[i].State && got[i].Actor == want[i].Actor
		for _, w := range strings.Split(want[i].Reason, "|") {
			ok = ok && strings.Contains(got[i].Reason, w)
		}
	}
	if !ok {
		var b strings.Builder
		for _, e := range got {
			fmt.Fprintf(&b, "\n  %s %s %s by %s: %s", e.At.Format(time.RFC3339), e.State, e.VpnGatewayId, e.Actor, e.Reason)
		}
		t.Errorf("%s: history%s\nwant %+v", name, b.String(), want)
	}
}

// Each change of a request's state is in its history, with who made it
// and why: a request through its whole life (received, pending, active), a
// request the policy denies (the rule), one the API refuses (its code), and
// one a webhook recorded that the tick re-drove (reconcile).
func TestHistoryShowsEachChangeWithWhoAndWhy(t *testing.T) {
	s := newStack(t, apptest.WithEnv(webhookEnv(redrivePolicy)))
	const src = "acs:eventbridge:tickets"

	resp, err := s.provision(requestEvent("life", validData()))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("life: %+v %v", resp, err)
	}
	gw := resp.Results[0].VpnGatewayId

	elsewhere := validData()
	elsewhere["RegionId"] = "cn-shanghai"
	if resp, err := s.provision(requestEvent("elsewhere", elsewhere)); err != nil || resp.Results[0].State != store.Failed {
		t.Fatalf("elsewhere: %+v %v", resp, err)
	}
	novpc := validData()
	novpc["VpcId"] = "vpc-bp1doesnotexist00000"
	if resp, err := s.provision(requestEvent("no-vpc", novpc)); err != nil || resp.Results[0].State != store.Failed {
		t.Fatalf("no-vpc: %+v %v", resp, err)
	}
	s.recordOnlyWebhook(requestEvent("late-hook", validData()))

	s.Clock.Advance(3 * time.Minute)
	ctx := t.Context()
	if rep, err := s.App.Reconcile.Tick(ctx, reconcile.Options{}); err != nil || rep.Active != 1 || rep.Redriven != 1 {
		t.Fatalf("tick: %+v %v, want life active and late-hook re-driven", rep, err)
	}

	life := s.history(src, "life")
	checkHistory(t, "life", life,
		step{store.Received, "provision", "tickets-bus"},
		step{store.Pending, "provision", "CreateVpnGateway"},
		step{store.Active, "reconcile", ""})
	if len(life) == 3 && (life[0].VpnGatewayId != "" || life[1].VpnGatewayId != gw || life[2].VpnGatewayId != gw ||
		life[2].At.Before(life[1].At)) {
		t.Errorf("life: %+v, want the gateway %s from pending on, active after the tick", life, gw)
	}
	checkHistory(t, "elsewhere", s.history(src, "elsewhere"),
		step{store.Failed, "provision", "PolicyDenied|tickets-bus"})
	checkHistory(t, "no-vpc", s.history(src, "no-vpc"),
		step{store.Received, "provision", "tickets-bus"},
		step{store.Failed, "provision", "InvalidVpcId.NotFound"})
	checkHistory(t, "late-hook", s.history(src, "late-hook"),
		step{store.Received, "webhook", "tickets-webhook"},
		step{store.Pending, "reconcile", "CreateVpnGateway"})
}

// A request left received that the tick re-drives under a policy that now
// denies it is failed by reconcile, with the rule in the reason.
func TestHistoryOfARedriveThePolicyNowDenies(t *testing.T) {
	s := newStack(t, apptest.WithEnv(webhookEnv(redrivePolicy)))
	s.recordOnly(requestEvent("late-bus", validData()))
	changed := s.withPolicy(strings.Replace(redrivePolicy, "maxBandwidth: 1000", "maxBandwidth: 5", 1))
	s.Clock.Advance(3 * time.Minute)
	if rep, err := changed.Reconcile.Tick(t.Context(), reconcile.Options{}); err != nil || rep.Redriven != 1 {
		t.Fatalf("tick: %+v %v, want the request re-driven", rep, err)
	}
	checkHistory(t, "late-bus", s.history("acs:eventbridge:tickets", "late-bus"),
		step{store.Received, "provision", "allowed by rule tickets-bus"},
		step{store.Failed, "reconcile", "PolicyDenied|tickets-bus"})
}

// A create that fails for now is in the history with the API's code; the
// same failure on the next delivery adds no entry, whatever the API's
// request id in its message.
func TestHistoryKeepsOneEntryForARepeatedTransientFailure(t *testing.T) {
	s := newStack(t)
	s.API.SetFaults(vpcsim.Faults{ThrottleRate: 1})
	for range 2 {
		s.deliverFailing("flaky")
	}
	h := s.history("acs:eventbridge:tickets", "flaky")
	checkHistory(t, "flaky", h,
		step{store.Received, "provision", "allowed by rule local-allow-all"},
		step{store.Received, "provision", "will retry: Throttling.User"})
	rec, err := s.App.Store.Get(t.Context(), requestKey("acs:eventbridge:tickets", "flaky"))
	if err != nil || rec.Attempts < 2 {
		t.Fatalf("record %+v %v, want both attempts counted", rec, err)
	}
}
