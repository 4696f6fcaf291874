package vpcclient_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// Every way a transport fails gives a transient Transport error whose text
// names the call, the host and the kind of failure, and nothing of the
// signed request: with an access key pair, and with STS credentials.
func TestTransportErrorsAreScrubbed(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()

	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		hang.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	endpoints := []struct{ name, endpoint, kind string }{
		{"connection refused", "http://" + refused, "connection refused"},
		{"timeout", "http://" + hang.Addr().String(), "timeout: "},
		{"untrusted TLS", tlsSrv.URL, "TLS: "},
		{"DNS failure", "http://vpc.vpngw-scrub.invalid", "DNS: "},
	}
	credentials := map[string]cloud.Credentials{
		"access key": {AccessKeyID: "LTAIscrubkey000001", AccessKeySecret: "scrubSecretValue01"},
		"STS":        {AccessKeyID: "STS.scrubRoleKey01", AccessKeySecret: "scrubSecretValue02", SecurityToken: "scrubTokenValue03"},
	}
	for _, ep := range endpoints {
		for credName, creds := range credentials {
			t.Run(ep.name+"/"+credName, func(t *testing.T) {
				c, err := vpcclient.New(vpcclient.Config{Endpoint: ep.endpoint, MaxAttempts: 1, CallTimeout: 300 * time.Millisecond,
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
					host := strings.TrimPrefix(strings.TrimPrefix(ep.endpoint, "http://"), "https://")
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
