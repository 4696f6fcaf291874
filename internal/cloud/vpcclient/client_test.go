package vpcclient_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

func ptr[T any](v T) *T { return &v }

func request() events.GatewayRequest {
	return events.GatewayRequest{
		RegionId: "cn-hangzhou", VpcId: "vpc-bp1vpngwdemo0000001", Bandwidth: ptr(10), Name: "gw-1",
		VSwitchId: "vsw-bp1vpngwdemo0000001", DisasterRecoveryVSwitchId: "vsw-bp1vpngwdemo0000002",
		EnableSsl: ptr(true), SslConnections: ptr(20),
		Tags: []events.Tag{{Key: "cost-centre", Value: "cc-42"}, {Key: "team", Value: "net"}},
	}
}

func newClient(t testing.TB, api *vpcsim.Server, cfg vpcclient.Config) *vpcclient.Client {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	cfg.Endpoint = srv.URL
	if cfg.Credentials.AccessKeyID == "" {
		cfg.Credentials = cloud.Credentials{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret}
	}
	if cfg.Rates == nil {
		cfg.Rates = map[string]float64{}
	}
	c, err := vpcclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreateSendsEveryParameter(t *testing.T) {
	api := vpcsim.New()
	c := newClient(t, api, vpcclient.Config{})
	res, err := c.CreateVpnGateway(context.Background(), request(), "vpngw-token-1")
	if err != nil {
		t.Fatal(err)
	}
	g, err := api.Gateway(res.VpnGatewayID)
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "gw-1" || g.Bandwidth != 10 || !g.EnableSsl || g.SslConnections != 20 || g.ClientToken != "vpngw-token-1" ||
		g.DisasterRecoveryVSwitchID != "vsw-bp1vpngwdemo0000002" || len(g.Tags) != 2 || g.Tags[0].Key != "cost-centre" {
		t.Fatalf("emulator recorded %+v", g)
	}
	if res.OrderID == 0 || res.RequestID == "" {
		t.Fatalf("result %+v lacks OrderId or RequestId", res)
	}
	// Same token, same parameters: the same gateway, nothing new.
	again, err := c.CreateVpnGateway(context.Background(), request(), "vpngw-token-1")
	if err != nil || again.VpnGatewayID != res.VpnGatewayID || len(api.Gateways()) != 1 {
		t.Fatalf("repeat: %+v %v, %d gateways", again, err, len(api.Gateways()))
	}
}

func TestErrorsAreClassified(t *testing.T) {
	api := vpcsim.New()
	c := newClient(t, api, vpcclient.Config{MaxAttempts: 2, BaseDelay: time.Millisecond})
	r := request()
	r.VpcId = "vpc-bp1nosuchvpc000000"
	_, err := c.CreateVpnGateway(context.Background(), r, "t-1")
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Kind != cloud.Permanent || ce.Code != "InvalidVpcId.NotFound" || ce.RequestID == "" || ce.Attempts != 1 {
		t.Fatalf("unknown VPC: %#v, want a permanent InvalidVpcId.NotFound after one attempt", err)
	}

	if err := api.SetFaults(vpcsim.Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateVpnGateway(context.Background(), request(), "t-2")
	if !errors.As(err, &ce) || ce.Kind != cloud.Transient || ce.Attempts != 2 || !cloud.IsTransient(err) {
		t.Fatalf("5xx: %#v, want transient after 2 attempts", err)
	}
}

func TestThrottlingWaitsAsTheAPISays(t *testing.T) {
	// The emulator's clock stands at half past a minute, so its per-minute
	// window cannot roll over between the two calls (on the wall clock, a
	// first call at :59.9 let the second through a moment later) and the
	// TimeLeft it answers (30 s) is beyond the 2 s deadline below.
	at := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	api := vpcsim.New(vpcsim.WithRateLimit(vpcclient.ActionDescribeVpnGateways, 1), vpcsim.WithClock(func() time.Time { return at }))
	// Client-side limiting off, so the API's own throttling is what is tested.
	c := newClient(t, api, vpcclient.Config{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	if _, err := c.DescribeVpnGateways(context.Background(), "cn-hangzhou", cloud.Filter{}, 1, 50); err != nil {
		t.Fatal(err)
	}
	// The second call in the same minute is throttled; the client must not
	// hammer the API but wait for the TimeLeft the header gives. With a
	// short deadline it gives up with the throttling error, classified.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.DescribeVpnGateways(ctx, "cn-hangzhou", cloud.Filter{}, 1, 50)
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Kind != cloud.Throttled || ce.RetryAfter <= 0 {
		t.Fatalf("got %#v, want a throttled error with RetryAfter", err)
	}
	if calls := api.Calls(vpcclient.ActionDescribeVpnGateways); calls != 2 {
		t.Fatalf("%d calls, want 2: a retry sooner than TimeLeft would only be throttled again", calls)
	}
}

func TestInvocationCredentialsWinAndSecretsStayOut(t *testing.T) {
	api := vpcsim.New(vpcsim.WithSTSToken("STS.NTinvocation01", "sts-secret-value", "sts-token-value", time.Now().Add(time.Hour)))
	c := newClient(t, api, vpcclient.Config{Credentials: cloud.Credentials{AccessKeyID: "LTAIfallbackkey", AccessKeySecret: "fallback-secret-value"}, MaxAttempts: 1})
	// The fallback key is unknown to the API: only the invocation's STS
	// credentials can succeed.
	if _, err := c.DescribeVpnGateways(context.Background(), "cn-hangzhou", cloud.Filter{}, 1, 10); err == nil {
		t.Fatal("the fallback key should have been refused")
	}
	ctx := cloud.WithCredentials(context.Background(), cloud.Credentials{AccessKeyID: "STS.NTinvocation01", AccessKeySecret: "sts-secret-value", SecurityToken: "sts-token-value"})
	if _, err := c.DescribeVpnGateways(ctx, "cn-hangzhou", cloud.Filter{}, 1, 10); err != nil {
		t.Fatalf("with the invocation's STS credentials: %v", err)
	}
	// A wrong secret: the SDK's own error text carries the string-to-sign;
	// ours must carry no secret, token or signature.
	bad := cloud.WithCredentials(context.Background(), cloud.Credentials{AccessKeyID: "STS.NTinvocation01", AccessKeySecret: "wrong-secret-value", SecurityToken: "sts-token-value"})
	_, err := c.DescribeVpnGateways(bad, "cn-hangzhou", cloud.Filter{}, 1, 10)
	if err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	for _, secret := range []string{"wrong-secret-value", "sts-secret-value", "sts-token-value", "Signature="} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q contains %q", err, secret)
		}
	}
	if s := (cloud.Credentials{AccessKeyID: "a", AccessKeySecret: "sts-secret-value", SecurityToken: "tok"}).String(); strings.Contains(s, "sts-secret-value") || strings.Contains(s, "tok}") {
		t.Fatalf("Credentials.String() = %q", s)
	}
}

func TestPagingAndFilters(t *testing.T) {
	api := vpcsim.New()
	c := newClient(t, api, vpcclient.Config{})
	for i := range 7 {
		r := request()
		r.Tags = nil
		if _, err := c.CreateVpnGateway(context.Background(), r, "page-"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := c.DescribeVpnGateways(context.Background(), "cn-hangzhou", cloud.Filter{VpcId: "vpc-bp1vpngwdemo0000001"}, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.DescribeVpnGateways(context.Background(), "cn-hangzhou", cloud.Filter{VpcId: "vpc-bp1vpngwdemo0000001"}, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if p1.TotalCount != 7 || len(p1.Gateways) != 5 || len(p2.Gateways) != 2 {
		t.Fatalf("pages: total %d, %d + %d gateways; want 7 = 5 + 2", p1.TotalCount, len(p1.Gateways), len(p2.Gateways))
	}
	g := p1.Gateways[0]
	if g.RegionId != "cn-hangzhou" || g.Spec != "10M" || g.Bandwidth() != 10 || g.Status == "" || g.CreateTime == 0 {
		t.Fatalf("gateway %+v", g)
	}
}

func TestClassifyTransportAndBadAnswers(t *testing.T) {
	c, err := vpcclient.New(vpcclient.Config{Endpoint: "http://127.0.0.1:1", MaxAttempts: 2, BaseDelay: time.Millisecond,
		Credentials: cloud.Credentials{AccessKeyID: "k", AccessKeySecret: "s"}, Rates: map[string]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeVpnGateways(context.Background(), "cn-hangzhou", cloud.Filter{}, 1, 10)
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Kind != cloud.Transient || ce.Code != "Transport" {
		t.Fatalf("connection refused: %#v, want transient Transport", err)
	}
	if _, err := vpcclient.New(vpcclient.Config{Endpoint: "ftp://x"}); err == nil {
		t.Fatal("an ftp endpoint was accepted")
	}
}

func TestBandwidthFromSpec(t *testing.T) {
	for spec, want := range map[string]int{"5M": 5, "200M": 200, "1G": 1000, "": 0, "x": 0} {
		if got := (cloud.Gateway{Spec: spec}).Bandwidth(); got != want {
			t.Errorf("Spec %q: %d, want %d", spec, got, want)
		}
	}
}

// A refused key is an operator fault: retryable later, not repeated within
// the call (nothing changes until the operator acts), and its text carries
// no string to sign.
func TestCredentialRefusalIsAnOperatorFault(t *testing.T) {
	api := vpcsim.New()
	if _, err := api.RotateAccessKey(vpcsim.DefaultAccessKeyID, "rotated"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, api, vpcclient.Config{MaxAttempts: 5, BaseDelay: time.Millisecond})
	_, err := c.CreateVpnGateway(context.Background(), request(), "t-op")
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Kind != cloud.Operator || ce.Code != "SignatureDoesNotMatch" || ce.Attempts != 1 || !ce.Retryable() {
		t.Fatalf("rotated key: %#v, want an operator fault after one attempt", err)
	}
	if strings.Contains(err.Error(), "string to sign") || strings.Contains(err.Error(), vpcsim.DefaultAccessKeyID) || ce.OperatorFix() == "" {
		t.Fatalf("error text %q, fix %q", err.Error(), ce.OperatorFix())
	}
	// No key at all is the operator's too.
	none, err := vpcclient.New(vpcclient.Config{Endpoint: "http://127.0.0.1:1", Rates: map[string]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = none.CreateVpnGateway(context.Background(), request(), "t-none")
	if !errors.As(err, &ce) || ce.Kind != cloud.Operator || ce.Code != "MissingCredentials" {
		t.Fatalf("no key: %#v, want an operator fault", err)
	}
}

// The client reads the wait from either throttling header style alone, so
// it honours what the API said whichever style it sent.
func TestThrottlingWaitFromEitherHeader(t *testing.T) {
	for _, style := range []vpcsim.ThrottleHeaders{vpcsim.RateLimitHeaderOnly, vpcsim.RetryAfterHeaderOnly, vpcsim.BothThrottleHeaders} {
		clock := time.Date(2025, 6, 1, 12, 0, 15, 0, time.UTC)
		api := vpcsim.New(vpcsim.WithClock(func() time.Time { return clock }), vpcsim.WithRateLimit(vpcclient.ActionDescribeVpnGateways, 1),
			vpcsim.WithThrottleHeaders(style))
		c := newClient(t, api, vpcclient.Config{MaxAttempts: 1})
		if _, err := c.DescribeVpnGateways(context.Background(), "cn-hangzhou", cloud.Filter{}, 1, 50); err != nil {
			t.Fatal(err)
		}
		_, err := c.DescribeVpnGateways(context.Background(), "cn-hangzhou", cloud.Filter{}, 1, 50)
		var ce *cloud.Error
		if !errors.As(err, &ce) || ce.Kind != cloud.Throttled || ce.RetryAfter != 45*time.Second {
			t.Errorf("style %d: %#v, want throttled with RetryAfter 45s", style, err)
		}
	}
}
