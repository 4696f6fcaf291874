package cloud_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/cloud"
)

func TestIsTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&cloud.Error{Kind: cloud.Permanent, Code: "InvalidParameter"}, false},
		{&cloud.Error{Kind: cloud.Transient, Code: "ServiceUnavailable"}, true},
		{&cloud.Error{Kind: cloud.Throttled, Code: "Throttling.User"}, true},
		{fmt.Errorf("create: %w", &cloud.Error{Kind: cloud.Throttled}), true},
		{fmt.Errorf("create: %w", &cloud.Error{Kind: cloud.Permanent}), false},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("wait: %w", context.Canceled), true},
		{errors.New("something else"), false},
	} {
		if got := cloud.IsTransient(tc.err); got != tc.want {
			t.Errorf("IsTransient(%v) = %t, want %t", tc.err, got, tc.want)
		}
	}
}

func TestCodes(t *testing.T) {
	for code, want := range map[string]bool{"Throttling": true, "Throttling.User": true, "Throttling.Api": true, "ThrottlingX": false, "InvalidParameter": false} {
		if got := cloud.ThrottlingCode(code); got != want {
			t.Errorf("ThrottlingCode(%q) = %t", code, got)
		}
	}
	for code, want := range map[string]bool{"ServiceUnavailable": true, "OperationConflict": true, "IncorrectStatus.VpnGateway": true, "QuotaExceeded.VpnGateway": false, "Forbidden.RAM": false} {
		if got := cloud.TransientCode(code); got != want {
			t.Errorf("TransientCode(%q) = %t", code, got)
		}
	}
}

func TestErrorText(t *testing.T) {
	e := &cloud.Error{Action: "CreateVpnGateway", Kind: cloud.Permanent, Code: "InvalidVpcId.NotFound", Message: "vpc not found", RequestID: "R-1", HTTPStatus: 404, Attempts: 2}
	want := "CreateVpnGateway: InvalidVpcId.NotFound: vpc not found (HTTP 404, RequestId R-1) after 2 attempts"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if e.Retryable() || e.APICode() != "InvalidVpcId.NotFound" || e.APIMessage() != "vpc not found" || e.APIRequestID() != "R-1" {
		t.Errorf("accessors of %+v", e)
	}
	if got := (&cloud.Error{Action: "DescribeVpnGateways", Kind: cloud.Transient, Code: "Transport"}).Error(); got != "DescribeVpnGateways: Transport" {
		t.Errorf("transport error text %q", got)
	}
}

func TestCredentialsNeverPrintTheSecret(t *testing.T) {
	c := cloud.Credentials{AccessKeyID: "LTAIkeyidSHOULDNOTPRINT0042", AccessKeySecret: "secret-SHOULD-NOT-PRINT", SecurityToken: "token-SHOULD-NOT-PRINT"}
	type holder struct {
		Name  string
		Creds cloud.Credentials
		Ptr   *cloud.Credentials
	}
	h := holder{Name: "fallback", Creds: c, Ptr: &c}
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("value", "creds", c)
	log.Info("pointer", "creds", &c)
	log.Info("nested", "holder", h)
	log.Info("as attr", slog.Any("creds", c))
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("value", "creds", c, "pointer", &c, "holder", h)
	nested, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"slog JSON": logged.String(), "slog text": text.String(), "json.Marshal": string(nested),
		"String": c.String(), "Sprint": fmt.Sprint(c), "Sprint pointer": fmt.Sprint(&c),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T %v"} {
		outputs[verb] = fmt.Sprintf(verb, c)
		outputs[verb+" pointer"] = fmt.Sprintf(verb, &c)
		outputs[verb+" nested"] = fmt.Sprintf(verb, h)
	}
	for where, s := range outputs {
		if strings.Contains(s, "SHOULD-NOT-PRINT") || strings.Contains(s, "SHOULDNOTPRINT") {
			t.Errorf("%s shows a secret or the whole key id: %s", where, s)
		}
	}
	// Enough is left to tell which key is in use.
	for _, where := range []string{"slog JSON", "String", "%#v", "json.Marshal"} {
		if !strings.Contains(outputs[where], "LTAI…0042") {
			t.Errorf("%s does not show the key id's ends: %s", where, outputs[where])
		}
	}
	if !strings.Contains(logged.String(), `"creds":{"AccessKeyID":"LTAI…0042","AccessKeySecret":true,"SecurityToken":true}`) {
		t.Errorf("slog did not log the credentials as their LogValue group: %s", logged.String())
	}
	ctx := cloud.WithCredentials(context.Background(), c)
	if got, ok := cloud.CredentialsFrom(ctx); !ok || got != c {
		t.Errorf("CredentialsFrom = %v, %t", got, ok)
	}
	if _, ok := cloud.CredentialsFrom(cloud.WithCredentials(context.Background(), cloud.Credentials{})); ok {
		t.Error("empty credentials reported as present")
	}
	if _, ok := cloud.CredentialsFrom(context.Background()); ok {
		t.Error("credentials reported in a bare context")
	}
}
