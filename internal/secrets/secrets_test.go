package secrets_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/secrets"
	"github.com/vpngw/vpngw/internal/secrets/extsim"
	"github.com/vpngw/vpngw/internal/secrets/kmssim"
)

const (
	stsID     = "STS.NTkmsTest0001"
	stsSecret = "sts-secret-kms-test"
	stsToken  = "sts-token-kms-test"
)

func newKMS(t *testing.T, readable ...string) (*kmssim.Server, string) {
	t.Helper()
	k := kmssim.New()
	k.AddCredential(stsID, stsSecret, stsToken, readable...)
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	return k, srv.URL
}

func TestKMSGetSecretValueThroughTheSDK(t *testing.T) {
	sim, url := newKMS(t, "vpngw/webhook", "vpngw/gone")
	sim.PutSecret("vpngw/webhook", "whsec-0123456789abcdef")
	sim.PutSecret("vpngw/other", "not-yours-0123456789")
	good := cloud.Credentials{AccessKeyID: stsID, AccessKeySecret: stsSecret, SecurityToken: stsToken}
	k, err := secrets.NewKMS("cn-hangzhou", url, good)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := k.Get(ctx, "vpngw/webhook")
	if err != nil || got != "whsec-0123456789abcdef" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if _, err := k.Get(ctx, "vpngw/gone"); !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), "Forbidden.ResourceNotFound") {
		t.Errorf("a missing secret: %v, want ErrNotFound naming Forbidden.ResourceNotFound", err)
	}
	if _, err := k.Get(ctx, "vpngw/other"); !errors.Is(err, secrets.ErrDenied) || !strings.Contains(err.Error(), "Forbidden.NoPermission") {
		t.Errorf("another function's secret: %v, want ErrDenied naming Forbidden.NoPermission", err)
	}
	// The invocation's credentials win over the instance's.
	bad := cloud.WithCredentials(ctx, cloud.Credentials{AccessKeyID: stsID, AccessKeySecret: "wrong-secret", SecurityToken: stsToken})
	_, err = k.Get(bad, "vpngw/webhook")
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("a wrong signing secret: %v, want SignatureDoesNotMatch", err)
	}
	for _, leak := range []string{"wrong-secret", stsToken, "whsec-"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("the error shows %q: %v", leak, err)
		}
	}
	noToken := cloud.WithCredentials(ctx, cloud.Credentials{AccessKeyID: stsID, AccessKeySecret: stsSecret})
	if _, err := k.Get(noToken, "vpngw/webhook"); err == nil || !strings.Contains(err.Error(), "InvalidSecurityToken") {
		t.Errorf("an STS key without its token: %v, want InvalidSecurityToken", err)
	}
	if n := sim.Reads("vpngw/webhook"); n != 1 {
		t.Errorf("the stand-in answered %d reads, want 1", n)
	}
}

// extension starts the extension's stand-in holding values.
func extension(t *testing.T, token string, values map[string]string) string {
	t.Helper()
	ext := extsim.New(token)
	for k, v := range values {
		ext.Put(k, v)
	}
	srv := httptest.NewServer(ext)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func TestExtensionReadsWithTheSessionToken(t *testing.T) {
	port := extension(t, "session-token-1", map[string]string{"vpngw/alibaba": `{"AccessKeyId":"LTAI5tTestKey0001","AccessKeySecret":"ak-secret-0123456789"}`})
	env := map[string]string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": port, "AWS_SESSION_TOKEN": "session-token-1",
		"ALIBABA_CLOUD_ACCESS_KEY_ID_SECRET": "vpngw/alibaba#AccessKeyId", "ALIBABA_CLOUD_ACCESS_KEY_SECRET_SECRET": "vpngw/alibaba#AccessKeySecret"}
	getenv := func(k string) string { return env[k] }
	ext, err := secrets.NewExtension(getenv)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := secrets.Resolve(context.Background(), getenv, []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"}, ext)
	if err != nil {
		t.Fatal(err)
	}
	if vals["ALIBABA_CLOUD_ACCESS_KEY_ID"] != "LTAI5tTestKey0001" || vals["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] != "ak-secret-0123456789" {
		t.Fatalf("resolved %d values, not the secret's fields", len(vals))
	}
	if _, err := ext.Get(context.Background(), "vpngw/missing"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("a missing secret: %v, want ErrNotFound", err)
	}

	env["AWS_SESSION_TOKEN"] = "another-session"
	ext, _ = secrets.NewExtension(getenv)
	if _, err := ext.Get(context.Background(), "vpngw/alibaba"); !errors.Is(err, secrets.ErrDenied) {
		t.Errorf("a request without the function's token: %v, want ErrDenied", err)
	}
}

func TestResolveRefusesAmbiguityAndNamesTheVariable(t *testing.T) {
	env := map[string]string{
		"VPNGW_WEBHOOK_SECRET": "plain-value-0123456789", "VPNGW_WEBHOOK_SECRET_SECRET": "vpngw/webhook",
		"VPNGW_SLACK_SIGNING_SECRET_SECRET": "vpngw/chat#Slack",
	}
	_, err := secrets.Resolve(context.Background(), func(k string) string { return env[k] },
		[]string{"VPNGW_WEBHOOK_SECRET", "VPNGW_SLACK_SIGNING_SECRET"}, nil)
	for _, want := range []string{"VPNGW_WEBHOOK_SECRET and VPNGW_WEBHOOK_SECRET_SECRET are both set", `VPNGW_SLACK_SIGNING_SECRET_SECRET="vpngw/chat#Slack": no secret store here`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "plain-value") {
		t.Errorf("the error shows the value: %v", err)
	}
}
