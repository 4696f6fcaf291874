package vpcclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// Every way a transport fails gives a transient Transport error whose text
// names the call, the host and the kind of failure, and nothing of the
// signed request: with an access key pair, and with STS credentials.
func TestTransportErrorsAreScrubbed(t *testing.T) {
	// What each way of failing names in the error, besides the host.
	endpoints := testenv.UnreachableEndpoints(t)
	kinds := []struct{ name, kind string }{
		{"connection refused", "connection refused"},
		{"timeout", "timeout: "},
		{"untrusted TLS", "TLS: "},
		{"DNS failure", "DNS: "},
	}
	if len(kinds) != len(endpoints) {
		t.Fatalf("endpoints %v: say for each what its error names", endpoints)
	}
	credentials := map[string]cloud.Credentials{
		"access key": {AccessKeyID: "LTAIscrubkey000001", AccessKeySecret: "scrubSecretValue01"},
		"STS":        {AccessKeyID: "STS.scrubRoleKey01", AccessKeySecret: "scrubSecretValue02", SecurityToken: "scrubTokenValue03"},
	}
	for _, ep := range kinds {
		endpoint := endpoints[ep.name]
		for credName, creds := range credentials {
			t.Run(ep.name+"/"+credName, func(t *testing.T) {
				c, err := vpcclient.New(vpcclient.Config{Endpoint: endpoint, MaxAttempts: 1, CallTimeout: 300 * time.Millisecond,
					Credentials: creds, Rates: map[string]float64{}})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if credName == "STS" {
					ctx = cloud.WithCredentials(ctx, creds)
				}
				var errs []error
				_, err = c.CreateVpnGateway(ctx, request(), "vpngw-scrub-token")
				errs = append(errs, err)
				_, err = c.DescribeVpnGateways(ctx, "cn-hangzhou", cloud.Filter{VpnGatewayId: "vpn-bp1scrub"}, 1, 50)
				errs = append(errs, err)
				for _, err := range errs {
					var ce *cloud.Error
					if !errors.As(err, &ce) || ce.Kind != cloud.Transient || ce.Code != "Transport" {
						t.Fatalf("%v: want a transient Transport error", err)
					}
					text := err.Error()
					for _, leak := range []string{creds.AccessKeyID, creds.AccessKeySecret, "scrubTokenValue03", "Signature=", "SignatureNonce", "AccessKeyId", "SecurityToken", "ClientToken=", "?"} {
						if strings.Contains(text, leak) {
							t.Errorf("error text contains %q: %s", leak, text)
						}
					}
					host := strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
					if !strings.Contains(text, host) || !strings.Contains(text, ep.kind) || !strings.Contains(text, ce.Action) {
						t.Errorf("error text %q does not name the host %s and the kind %q", text, host, ep.kind)
					}
				}
			})
		}
	}
}

// The API answers a bad signature with the string it signed (the key id,
// the nonce, every parameter); the error keeps the code and drops that.
func TestSignatureMismatchDropsTheStringToSign(t *testing.T) {
	api := vpcsim.New(vpcsim.WithAccessKey("LTAIscrubkey000002", "the-right-secret"))
	c := newClient(t, api, vpcclient.Config{MaxAttempts: 1,
		Credentials: cloud.Credentials{AccessKeyID: "LTAIscrubkey000002", AccessKeySecret: "a-wrong-secret"}})
	_, err := c.CreateVpnGateway(context.Background(), request(), "vpngw-scrub-token")
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Code != "SignatureDoesNotMatch" {
		t.Fatalf("%v: want SignatureDoesNotMatch", err)
	}
	for _, leak := range []string{"LTAIscrubkey000002", "SignatureNonce", "AccessKeyId", "%3D", "vpngw-scrub-token"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error text contains %q: %s", leak, err)
		}
	}
}
