package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/runtime"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// Recognisable credentials of the transport tests: the fallback pair and
// the function role's STS credentials.
const (
	leakAKID      = "LTAIleakscan00000001"
	leakAKSecret  = "leakscanFallbackSecretValue"
	leakSTSID     = "STS.leakscanRoleKey0001"
	leakSTSSecret = "leakscanRoleSecretValue"
	leakSTSToken  = "leakscanSecurityTokenValue"
	leakWebhook   = "leakscan-webhook-secret-0123456789"
)

// leakMarkers may appear in no answer, record, log line or event: the
// credentials, and what only a signed request's query carries.
var leakMarkers = []string{
	leakAKID, leakAKSecret, leakSTSID, leakSTSSecret, leakSTSToken,
	"Signature=", "SignatureNonce", "AccessKeyId", "SecurityToken", "SignatureMethod", "Timestamp=",
}

// TestTransportErrorsLeakNoSignedURL: whatever way the VPC API cannot be
// reached, the SDK's error (which quotes the whole signed URL: AccessKeyId,
// Signature, SignatureNonce, SecurityToken) reaches no answer of the
// webhook's POST /, the HTTP intake or an FC invocation, no record's
// last_error, no log line and no event; nor does a reconcile tick's
// re-drive leak it.
func TestTransportErrorsLeakNoSignedURL(t *testing.T) {
	for name, endpoint := range testenv.UnreachableEndpoints(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, apptest.WithEnv(map[string]string{
				"VPNGW_VPC_ENDPOINT":              endpoint,
				"ALIBABA_CLOUD_ACCESS_KEY_ID":     leakAKID,
				"ALIBABA_CLOUD_ACCESS_KEY_SECRET": leakAKSecret,
				"VPNGW_WEBHOOK_SECRET":            leakWebhook,
				"VPNGW_WEBHOOK_SECRET_SOURCES":    "*",
			}))
			var answers strings.Builder
			note := func(what string, b []byte, err error) {
				answers.WriteString(what + ": " + string(b) + "\n")
				if err != nil {
					answers.WriteString(what + " error: " + err.Error() + "\n")
				}
			}
			deadline := func(r *http.Request) *http.Request {
				// The invocation's deadline, as the HTTP trigger hands it on.
				ctx, cancel := context.WithTimeout(r.Context(), 4*time.Second)
				t.Cleanup(cancel)
				return r.WithContext(ctx)
			}

			// An FC event invocation with the role's STS credentials.
			fctx := &fccontext.FcContext{RequestID: "fc-leak", Credentials: fccontext.Credentials{
				AccessKeyId: leakSTSID, AccessKeySecret: leakSTSSecret, SecurityToken: leakSTSToken}}
			ctx, cancel := context.WithTimeout(fccontext.NewContext(context.Background(), fctx), 4*time.Second)
			out, err := runtime.FC(s.App.ProvisionHandler(), s.Log)(ctx, requestEvent("leak-fc", validData()))
			cancel()
			b, _ := json.Marshal(out)
			note("FC invocation", b, err)

			// The HTTP intake, with the fallback pair.
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(requestEvent("leak-http", validData()))))
			req.Header.Set("Content-Type", "application/cloudevents+json")
			w := httptest.NewRecorder()
			s.App.HTTPHandler().ServeHTTP(w, deadline(req))
			note("HTTP intake", w.Body.Bytes(), nil)

			// The webhook's POST /.
			body := requestEvent("leak-webhook", validData())
			req = s.signed(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body))), leakWebhook, body)
			w = httptest.NewRecorder()
			s.App.Webhook.ServeHTTP(w, deadline(req))
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("webhook POST /: status %d, want 503 (the API is out of reach): %s", w.Code, w.Body)
			}
			note("webhook POST /", w.Body.Bytes(), nil)

			// A reconcile tick re-drives what is left. (The store stamps
			// the failed attempts with its own clock, the wall clock.)
			s.Clock.Advance(time.Since(s.Clock.Now()) + 3*time.Minute)
			tctx, tcancel := context.WithTimeout(context.Background(), 8*time.Second)
			rep, err := s.App.Reconcile.Tick(tctx, reconcile.Options{})
			tcancel()
			b, _ = json.Marshal(rep)
			note("reconcile tick", b, err)
			if rep.Redriven == 0 {
				t.Errorf("the tick re-drove nothing: %s", b)
			}

			var records strings.Builder
			withError := 0
			for _, id := range []string{"leak-fc", "leak-http", "leak-webhook"} {
				rec, err := s.App.Store.Get(context.Background(), request.Identity{Source: "acs:eventbridge:tickets", EventID: id}.Key())
				if err != nil {
					t.Fatalf("record %s: %v", id, err)
				}
				records.WriteString(id + ": " + rec.LastError + "\n")
				if rec.LastError != "" {
					withError++
				}
			}
			// Each call ends before its invocation's deadline, with time
			// left to record why it failed.
			if withError != 3 {
				t.Errorf("%d of 3 records have a last_error: the failures left too little to scan:\n%s", withError, records.String())
			}
			unsent, _ := s.App.Store.Unsent(context.Background(), 1000)
			for _, e := range unsent {
				scanFor(t, leakMarkers, "outbox event "+e.Type, string(e.Body))
			}
			for _, e := range s.Events(0) {
				b, _ := json.Marshal(e)
				scanFor(t, leakMarkers, "event "+e.Type, string(b))
			}
			scanFor(t, leakMarkers, "answers", answers.String())
			scanFor(t, leakMarkers, "last_error", records.String())
			scanFor(t, leakMarkers, "logs", s.Logs.String())
			if !strings.Contains(s.Logs.String(), "CreateVpnGateway") {
				t.Errorf("no log line names the failed call; the scan proves nothing:\n%s", s.Logs.String())
			}
			if testing.Verbose() {
				t.Logf("records:\n%s", records.String())
			}
		})
	}
}

// TestRefusedSignatureLeaksNoStringToSign: the API answers a bad signature
// with the string it signed, which holds the key id, the nonce and the
// signed query; that text reaches neither the failed event nor the record.
func TestRefusedSignatureLeaksNoStringToSign(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     leakAKID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "leakscan-a-wrong-secret",
	}), apptest.WithEmulator(vpcsim.WithAccessKey(leakAKID, leakAKSecret)))
	resp, err := s.provision(requestEvent("leak-sig", validData()))
	b, _ := json.Marshal(resp)
	answers := string(b)
	if err != nil {
		answers += err.Error()
	}
	rec, err := s.App.Store.Get(context.Background(), request.Identity{Source: "acs:eventbridge:tickets", EventID: "leak-sig"}.Key())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.LastError, "SignatureDoesNotMatch") {
		t.Fatalf("last_error %q: the emulator did not refuse the signature; the test proves nothing", rec.LastError)
	}
	for _, e := range s.Events(1) {
		b, _ := json.Marshal(e)
		scanFor(t, leakMarkers, "event "+e.Type, string(b))
	}
	scanFor(t, leakMarkers, "answer", answers)
	scanFor(t, leakMarkers, "last_error", rec.LastError)
	scanFor(t, leakMarkers, "logs", s.Logs.String())
}
