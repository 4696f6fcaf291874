package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// A corrected request re-sent under the id it was first sent with is not
// the same request: it is answered as a conflict (409 on the HTTP intake
// and the webhook's POST /, an IdConflict result for the function) naming
// the first use and its time and asking for a new id, and the log says so.
// The first request's outcome stands: nothing is recorded, no event is
// announced. A redelivery of the same data still answers from the record.
func TestSameIDOtherDataIsAConflict(t *testing.T) {
	s := newStack(t, apptest.WithEnv(webhookEnv(app.LocalPolicy)))
	first := validData()
	corrected := validData()
	corrected["Bandwidth"] = 20

	code, resp := s.postIntake(requestEvent("conflict-1", first))
	if code != http.StatusAccepted || resp.Results[0].State != store.Pending {
		t.Fatalf("first request: %d %+v", code, resp)
	}
	gw := resp.Results[0].VpnGatewayId
	// The same data, redelivered: answered from the record.
	if code, resp := s.postIntake(requestEvent("conflict-1", first)); code != http.StatusAccepted || resp.Results[0].VpnGatewayId != gw || resp.Results[0].Code != "" {
		t.Fatalf("redelivery: %d %+v, want 202 with %s", code, resp, gw)
	}
	wantMsg := func(r provision.Result) {
		t.Helper()
		if r.Code != provision.CodeIDConflict || r.State != store.Failed {
			t.Errorf("result %+v, want failed %s", r, provision.CodeIDConflict)
		}
		for _, w := range []string{`"conflict-1"`, "first used at 20", "send the corrected request with a new id", gw} {
			if !strings.Contains(r.Message, w) {
				t.Errorf("message %q does not say %q", r.Message, w)
			}
		}
	}
	code, resp = s.postIntake(requestEvent("conflict-1", corrected))
	if code != http.StatusConflict || len(resp.Results) != 1 {
		t.Fatalf("corrected request on the intake: %d %+v, want 409", code, resp)
	}
	wantMsg(resp.Results[0])

	// The function answers the same, as a failed result.
	out, err := s.provision(requestEvent("conflict-1", corrected))
	if err != nil || len(out.Results) != 1 {
		t.Fatalf("corrected request to the function: %+v %v", out, err)
	}
	wantMsg(out.Results[0])

	if !strings.Contains(s.Logs.String(), "request id already used for other data") {
		t.Errorf("log does not say the id was already used:\n%s", s.Logs)
	}
	rec, err := s.App.Store.Get(t.Context(), resp.Results[0].Key)
	if err != nil || rec.State != store.Pending || rec.GatewayID != gw || rec.Attempts != 1 {
		t.Errorf("the first request's record changed: %+v %v", rec, err)
	}
	if n := len(s.API.Gateways()); n != 1 {
		t.Errorf("emulator holds %d gateways, want 1", n)
	}
	if f := s.EventsOfType(events.TypeFailed); len(f) != 0 {
		t.Errorf("a failed event was announced for the conflict: %+v", f)
	}

	// The webhook's POST / answers 409 too.
	body := requestEvent("conflict-2", first)
	if code, wr := s.postWebhook(body); code != http.StatusAccepted {
		t.Fatalf("webhook first request: %d %+v", code, wr)
	}
	code, wr := s.postWebhook(requestEvent("conflict-2", corrected))
	if code != http.StatusConflict || len(wr.Results) != 1 || wr.Results[0].Code != provision.CodeIDConflict {
		t.Fatalf("webhook corrected request: %d %+v, want 409 %s", code, wr, provision.CodeIDConflict)
	}
}

// GET /requests/{source}/{id} for a request that was never recorded names
// the source and id it looked up, never the store's internal key nor where
// the store lives.
func TestRequestStateNotFoundNamesWhatWasLookedUp(t *testing.T) {
	s := newStack(t)
	srv := httptest.NewServer(s.App.HTTPHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/requests/" + url.PathEscape("acs:eventbridge:tickets") + "/no-such-id")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	key := request.IdentityOf("acs:eventbridge:tickets", "no-such-id").Key()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `\"acs:eventbridge:tickets\"`) || !strings.Contains(body, `\"no-such-id\"`) {
		t.Errorf("answer %d %s, want 404 naming the source and id", resp.StatusCode, body)
	}
	for _, leak := range []string{key, ".db", "sqlite", s.App.Config.StoreURL} {
		if strings.Contains(body, leak) {
			t.Errorf("answer %s shows %q", body, leak)
		}
	}
}
