package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/store"
)

// The dry-run flag must not fail open: a value that is not true or false
// (in any case) is refused, naming the extension and the allowed values,
// rather than taken as "no dry run" and answered with a real gateway.
func TestDryRunFlagOtherThanTrueOrFalseIsRefused(t *testing.T) {
	for _, v := range []string{"1", " true", "yes", "on", "true "} {
		s := newStack(t)
		code, resp := s.postIntake(withExtension(requestEvent("dry", validData()), intake.DryRunExtension, v))
		if n := s.API.Calls("CreateVpnGateway"); n != 0 {
			t.Errorf("vpngwdryrun=%q: %d CreateVpnGateway calls, want a refusal", v, n)
		}
		r := resp.Results[0]
		if code != http.StatusBadRequest || r.Code != events.CodeInvalidRequest || !strings.Contains(r.Message, intake.DryRunExtension) ||
			len(r.Errors) == 0 || r.Errors[0].Field != intake.DryRunExtension || !strings.Contains(r.Errors[0].Allowed, "true") {
			t.Errorf("vpngwdryrun=%q: %d %+v, want 400 InvalidRequest naming %s and its values", v, code, r, intake.DryRunExtension)
		}
	}
	// True in any case is a dry run, false in any case a real request.
	for v, want := range map[string]store.State{"True": store.DryRun, "TRUE": store.DryRun, "true": store.DryRun, "FALSE": store.Pending, "false": store.Pending} {
		s := newStack(t)
		_, resp := s.postIntake(withExtension(requestEvent("dry", validData()), intake.DryRunExtension, v))
		if got := resp.Results[0].State; got != want {
			t.Errorf("vpngwdryrun=%q: state %s, want %s", v, got, want)
		}
	}
}

// Every way an event reaches the intake reads the flag alike: binary mode's
// header, and each event of a CloudEvents batch; a batch request's flag
// reaches none of its items when it is refused.
func TestDryRunFlagRefusedOnEveryPath(t *testing.T) {
	s := newStack(t)
	data, _ := json.Marshal(validData())
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "bin-1", "ce-source": "/chat",
		"ce-type": events.TypeRequested, "ce-" + intake.DryRunExtension: "1"} {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.App.HTTPHandler().ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), intake.DryRunExtension) {
		t.Errorf("binary mode, vpngwdryrun 1: %d %s, want 400 naming the extension", w.Code, w.Body)
	}
	batch := "[" + string(withExtension(requestEvent("arr-1", validData()), intake.DryRunExtension, "yes")) + "]"
	code, resp := s.postIntake([]byte(batch))
	if code != http.StatusBadRequest || resp.Results[0].Code != events.CodeInvalidRequest {
		t.Errorf("batch mode, vpngwdryrun yes: %d %+v, want a refusal", code, resp)
	}
	code, resp = s.postIntake(withExtension(batchEvent("b-1", []map[string]any{validData(), validData()}), intake.DryRunExtension, "1"))
	if code != http.StatusBadRequest || len(resp.Results) != 1 || resp.Results[0].Code != events.CodeInvalidRequest {
		t.Errorf("batch request, vpngwdryrun 1: %d %+v, want one refusal", code, resp)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls, want none", n)
	}
}
