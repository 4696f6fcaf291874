package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// errorLines returns the JSON log lines at level ERROR.
func (s *stack) errorLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.Logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["level"] == "ERROR" {
			out = append(out, m)
		}
	}
	return out
}

// Credential and permission errors are the operator's, not the requester's:
// the request stays recorded and unsettled, the invocation fails so that the
// platform delivers it again, an error-level line says what to fix (and
// carries no secret), and once the key is right the next delivery, or a
// reconcile tick's re-drive, creates the gateway once.
func TestOperatorFaultsKeepTheRequestForARetry(t *testing.T) {
	const key = vpcsim.DefaultAccessKeyID
	for _, tc := range []struct {
		name, code string
		break_     func(api *vpcsim.Server) error
		redrive    bool // fixed, then taken up by a tick instead of a delivery
	}{
		{name: "rotated secret", code: "SignatureDoesNotMatch", break_: func(api *vpcsim.Server) error {
			_, err := api.RotateAccessKey(key, "a-new-secret-after-rotation")
			return err
		}},
		{name: "key deleted", code: "InvalidAccessKeyId.NotFound", redrive: true, break_: func(api *vpcsim.Server) error {
			return api.RemoveAccessKey(key)
		}},
		{name: "key disabled", code: "InvalidAccessKeyId.Inactive", break_: func(api *vpcsim.Server) error {
			return api.SetAccessKey(vpcsim.Credential{AccessKeyID: key, AccessKeySecret: vpcsim.DefaultAccessKeySecret, Disabled: true})
		}},
		{name: "RAM policy without CreateVpnGateway", code: "Forbidden.RAM", redrive: true, break_: func(api *vpcsim.Server) error {
			return api.SetAccessKey(vpcsim.Credential{AccessKeyID: key, AccessKeySecret: vpcsim.DefaultAccessKeySecret, DeniedActions: []string{"CreateVpnGateway"}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			if err := tc.break_(s.API); err != nil {
				t.Fatal(err)
			}
			payload := requestEvent("evt-op", validData())
			resp, err := s.provision(payload)
			if err == nil {
				t.Fatalf("the invocation succeeded (%+v): the platform would not deliver it again", resp)
			}
			if len(resp.Results) != 1 || resp.Results[0].State != store.Received || !resp.Results[0].Retry || resp.Results[0].Code != tc.code {
				t.Fatalf("results = %+v, want one received, to retry, code %s", resp.Results, tc.code)
			}
			rec, gerr := s.App.Store.Get(context.Background(), requestKey("acs:eventbridge:tickets", "evt-op"))
			if gerr != nil || rec.State != store.Received || !strings.Contains(rec.LastError, tc.code) {
				t.Fatalf("record %+v (%v), want received with the reason", rec, gerr)
			}
			if got := s.EventsOfType(events.TypeFailed); len(got) != 0 {
				t.Fatalf("the requester was told it failed: %+v", got)
			}
			var fix string
			for _, l := range s.errorLines() {
				if l["code"] == tc.code {
					fix, _ = l["fix"].(string)
				}
			}
			if fix == "" {
				t.Fatalf("no error-level line with code %s and what to fix; logs:\n%s", tc.code, s.Logs.String())
			}
			for _, secret := range []string{vpcsim.DefaultAccessKeySecret, "a-new-secret-after-rotation", "string to sign"} {
				if strings.Contains(s.Logs.String(), secret) {
					t.Fatalf("logs carry %q:\n%s", secret, s.Logs.String())
				}
			}

			// The operator fixes the key.
			if err := s.API.SetAccessKey(vpcsim.Credential{AccessKeyID: key, AccessKeySecret: vpcsim.DefaultAccessKeySecret}); err != nil {
				t.Fatal(err)
			}
			if tc.redrive {
				// The store stamps updated_at with the wall clock; the
				// re-drive age is counted from it.
				s.Clock.Advance(time.Since(s.Clock.Now()) + 3*time.Minute)
				if rep := s.tick(); rep.Redriven != 1 {
					t.Fatalf("tick %+v, want the request re-driven", rep)
				}
			} else {
				if resp, err := s.provision(payload); err != nil || resp.Results[0].State != store.Pending {
					t.Fatalf("redelivery after the fix: %+v %v", resp, err)
				}
				// And again: settled, nothing more is created.
				if _, err := s.provision(payload); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(s.API.Gateways()); n != 1 {
				t.Fatalf("%d gateways after the fix, want 1", n)
			}
			if n := s.API.Calls("CreateVpnGateway"); n != 1 {
				t.Fatalf("%d CreateVpnGateway calls passed authentication, want 1", n)
			}
			if got := s.EventsOfType(events.TypeAccepted); len(got) != 1 {
				t.Fatalf("accepted events %+v, want 1", got)
			}
		})
	}
}

// A reconcile tick whose DescribeVpnGateways is refused for the operator's
// reasons announces nothing (no NotFound, no failure), says at error level
// what to fix, and settles the gateway on a tick after the fix.
func TestReconcileOperatorFaultAnnouncesNothing(t *testing.T) {
	s := newStack(t)
	resp, err := s.provision(requestEvent("evt-ro", validData()))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("provision: %+v %v", resp, err)
	}
	if err := s.API.RemoveAccessKey(vpcsim.DefaultAccessKeyID); err != nil {
		t.Fatal(err)
	}
	// Past the provisioning delay and the not-found grace.
	s.Clock.Advance(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := s.App.Reconcile.Tick(ctx, reconcile.Options{})
	if err == nil || rep.Active != 0 || rep.Failed != 0 {
		t.Fatalf("tick with a deleted key: %+v %v, want an error and nothing settled", rep, err)
	}
	if got := s.EventsOfType(events.TypeFailed); len(got) != 0 {
		t.Fatalf("failed events %+v", got)
	}
	var logged bool
	for _, l := range s.errorLines() {
		if fix, _ := l["fix"].(string); strings.Contains(fix, "access key") {
			logged = true
		}
	}
	if !logged {
		t.Fatalf("no error-level line saying what to fix; logs:\n%s", s.Logs.String())
	}
	if err := s.API.SetAccessKey(vpcsim.Credential{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret}); err != nil {
		t.Fatal(err)
	}
	if rep := s.tick(); rep.Active != 1 {
		t.Fatalf("tick after the fix: %+v, want 1 active", rep)
	}
}
