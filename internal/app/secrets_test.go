package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/testenv"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/runtime"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// Recognisable secrets: none may appear in a log line, an event, an error
// or an HTTP answer.
const (
	secretAK      = "SECRETak7f3e9b2d1c"
	secretSTS     = "SECRETsts5a8c0e4f"
	secretToken   = "SECRETtoken9d2b6f1a"
	secretDBPass  = "SECRETdbpass3c7e"
	stsAccessKey  = "STS.NTsecretscan01"
	fallbackAKID  = "LTAIsecretscan0001"
	wrongSecretAK = "SECRETwrong4e1d9a"
)

var allSecrets = []string{secretAK, secretSTS, secretToken, secretDBPass, wrongSecretAK}

// scanFor fails t for each of markers that text (what where names)
// contains: a secret, or a part of a signed request.
func scanFor(t *testing.T, markers []string, where, text string) {
	t.Helper()
	for _, m := range markers {
		if strings.Contains(text, m) {
			t.Errorf("%s contains %q:\n%s", where, m, text)
		}
	}
}

// The whole pipeline runs with recognisable secrets: the fallback key pair,
// the function role's STS credentials handed over per invocation (as
// Function Compute does), a wrong secret that makes the API refuse the
// signature, and a database URL with a password. Everything written is
// scanned.
func TestNoSecretLeaks(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     fallbackAKID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": secretAK,
	}), apptest.WithEmulator(vpcsim.WithAccessKey(fallbackAKID, secretAK), vpcsim.WithSTSToken(stsAccessKey, secretSTS, secretToken, time.Now().Add(time.Hour))))
	var answers strings.Builder
	invoke := func(ak, secret, token, id string) {
		fctx := &fccontext.FcContext{RequestID: "fc-" + id, Credentials: fccontext.Credentials{
			AccessKeyId: ak, AccessKeySecret: secret, SecurityToken: token}}
		ctx, cancel := context.WithTimeout(fccontext.NewContext(context.Background(), fctx), 5*time.Second)
		defer cancel()
		out, err := runtime.FC(s.App.ProvisionHandler(), s.Log)(ctx, requestEvent(id, validData()))
		b, _ := json.Marshal(out)
		answers.Write(b)
		if err != nil {
			answers.WriteString(err.Error())
		}
	}
	invoke(stsAccessKey, secretSTS, secretToken, "sec-1")         // the role's credentials
	invoke("", "", "", "sec-2")                                   // the fallback pair
	invoke(stsAccessKey, wrongSecretAK, secretToken, "sec-3")     // refused signature
	invoke(stsAccessKey, secretSTS, "SECRETtoken-wrong", "sec-4") // refused token
	if n := len(s.API.Gateways()); n != 2 {
		t.Fatalf("%d gateways, want 2 (the refused credentials create nothing)", n)
	}
	// The HTTP edge, too.
	srv := httptest.NewServer(s.App.HTTPHandler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/", "application/cloudevents+json", strings.NewReader(string(requestEvent("sec-5", validData()))))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	answers.Write(body)

	// A store that cannot be reached, named with a password.
	dbURL := "postgres://vpngw:" + secretDBPass + "@127.0.0.1:1/vpngw?connect_timeout=1"
	if u := os.Getenv("VPNGW_TEST_POSTGRES_URL"); u != "" {
		// On the test server (trust authentication) the password is sent
		// and accepted, so the whole pipeline runs with it.
		dbURL = strings.Replace(u, "postgres@", "postgres:"+secretDBPass+"@", 1)
	}
	cfg := s.App.Config
	cfg.StoreURL = dbURL
	logs := &testenv.SyncBuffer{}
	a, err := app.New(context.Background(), cfg, logging.New(logs, "json", nil))
	if err != nil {
		answers.WriteString(err.Error())
	} else {
		out, err := a.ProvisionHandler()(context.Background(), requestEvent("sec-6", validData()))
		b, _ := json.Marshal(out)
		answers.Write(b)
		if err != nil {
			answers.WriteString(err.Error())
		}
		a.Close()
	}

	s.Clock.Advance(3 * time.Minute)
	rep, err := s.App.Reconcile.Tick(context.Background(), reconcile.Options{})
	b, _ := json.Marshal(rep)
	answers.Write(b)
	if err != nil {
		answers.WriteString(err.Error())
	}

	for _, e := range s.Events(3) {
		b, _ := json.Marshal(e)
		scanFor(t, allSecrets, "event "+e.Type, string(b))
	}
	unsent, _ := s.App.Store.Unsent(context.Background(), 1000)
	for _, e := range unsent {
		scanFor(t, allSecrets, "outbox", string(e.Body))
	}
	scanFor(t, allSecrets, "answers and errors", answers.String())
	scanFor(t, allSecrets, "logs", s.Logs.String()+logs.String())
	if !strings.Contains(s.Logs.String(), "SignatureDoesNotMatch") && !strings.Contains(answers.String(), "SignatureDoesNotMatch") {
		t.Errorf("the refused signature left no trace to scan; the test would prove nothing:\n%s", answers.String())
	}
}
