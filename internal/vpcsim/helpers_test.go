package vpcsim

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
)

// The sample request of the local stack.
const (
	demoRegion = "cn-hangzhou"
	demoVPC    = "vpc-bp1vpngwdemo0000001"
	demoVSw1   = "vsw-bp1vpngwdemo0000001"
	demoVSw2   = "vsw-bp1vpngwdemo0000002"
)

// testSim is an emulator behind a real HTTP listener.
type testSim struct {
	*Server
	ts   *httptest.Server
	host string
}

func startSim(t *testing.T, opts ...Option) *testSim {
	t.Helper()
	s := New(append([]Option{WithRandSeed(42)}, opts...)...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &testSim{Server: s, ts: ts, host: strings.TrimPrefix(ts.URL, "http://")}
}

// client returns a typed VPC client signing with the default key.
func (ts *testSim) client(t *testing.T) *vpc.Client {
	t.Helper()
	return ts.clientWith(t, demoRegion, DefaultAccessKeyID, DefaultAccessKeySecret)
}

func (ts *testSim) clientWith(t *testing.T, region, ak, secret string) *vpc.Client {
	t.Helper()
	c, err := vpc.NewClientWithAccessKey(region, ak, secret)
	if err != nil {
		t.Fatalf("new VPC client: %v", err)
	}
	return c
}

// createRequest is the local stack's sample request, aimed at the emulator.
func (ts *testSim) createRequest() *vpc.CreateVpnGatewayRequest {
	r := vpc.CreateCreateVpnGatewayRequest()
	r.Scheme, r.Domain = "http", ts.host
	r.RegionId = demoRegion
	r.VpcId = demoVPC
	r.VSwitchId = demoVSw1
	r.DisasterRecoveryVSwitchId = demoVSw2
	r.Bandwidth = requests.NewInteger(5)
	return r
}

func (ts *testSim) describeRequest(id string) *vpc.DescribeVpnGatewayRequest {
	r := vpc.CreateDescribeVpnGatewayRequest()
	r.Scheme, r.Domain = "http", ts.host
	r.RegionId = demoRegion
	r.VpnGatewayId = id
	return r
}

func (ts *testSim) listRequest() *vpc.DescribeVpnGatewaysRequest {
	r := vpc.CreateDescribeVpnGatewaysRequest()
	r.Scheme, r.Domain = "http", ts.host
	r.RegionId = demoRegion
	return r
}

func (ts *testSim) commonRequest(action string) *requests.CommonRequest {
	r := requests.NewCommonRequest()
	r.Method = "POST"
	r.Scheme, r.Domain = "http", ts.host
	r.Product = "Vpc"
	r.Version = APIVersion
	r.ApiName = action
	return r
}

func (ts *testSim) coreClient(t *testing.T) *sdk.Client {
	t.Helper()
	//lint:ignore SA1019 the deprecated constructor is what most SDK users still call; the emulator must serve them
	c, err := sdk.NewClientWithAccessKey(demoRegion, DefaultAccessKeyID, DefaultAccessKeySecret)
	if err != nil {
		t.Fatalf("new core client: %v", err)
	}
	return c
}

// mustCreate creates a gateway and returns its ID.
func mustCreate(t *testing.T, c *vpc.Client, r *vpc.CreateVpnGatewayRequest) *vpc.CreateVpnGatewayResponse {
	t.Helper()
	resp, err := c.CreateVpnGateway(r)
	if err != nil {
		t.Fatalf("CreateVpnGateway: %v", err)
	}
	return resp
}

var requestIDPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

// wantServerError checks that err is the SDK's ServerError with code and status.
func wantServerError(t *testing.T, err error, code string, status int) *sdkerrors.ServerError {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s (%d), got success", code, status)
	}
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want *errors.ServerError %s, got %T: %v", code, err, err)
	}
	if se.ErrorCode() != code || se.HttpStatus() != status {
		t.Fatalf("want %s (%d), got %s (%d): %s", code, status, se.ErrorCode(), se.HttpStatus(), se.Message())
	}
	if !requestIDPattern.MatchString(se.RequestId()) {
		t.Fatalf("RequestId %q is not an upper-case UUID", se.RequestId())
	}
	return se
}

// signV1 signs params with signature version 1.0, written from the
// documented algorithm independently of the emulator's code: the
// url.Values encoding the SDKs use, with the three documented fix-ups.
func signV1(method string, params url.Values, secret string) string {
	enc := func(s string) string {
		s = url.QueryEscape(s)
		s = strings.ReplaceAll(s, "+", "%20")
		s = strings.ReplaceAll(s, "*", "%2A")
		return strings.ReplaceAll(s, "%7E", "~")
	}
	canon := strings.ReplaceAll(params.Encode(), "+", "%20")
	sts := method + "&" + enc("/") + "&" + enc(canon)
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// v1Params returns the common parameters of a signed call, without Signature.
func v1Params(action string, extra map[string]string, nonce string, at time.Time) url.Values {
	v := url.Values{}
	v.Set("Action", action)
	v.Set("Version", APIVersion)
	v.Set("Format", "JSON")
	v.Set("AccessKeyId", DefaultAccessKeyID)
	v.Set("SignatureMethod", "HMAC-SHA1")
	v.Set("SignatureVersion", "1.0")
	v.Set("SignatureNonce", nonce)
	v.Set("Timestamp", at.UTC().Format("2006-01-02T15:04:05Z"))
	for k, val := range extra {
		v.Set(k, val)
	}
	return v
}

// postV1 sends a hand-signed call with every parameter in the query.
func (ts *testSim) postV1(t *testing.T, params url.Values, secret string) *http.Response {
	t.Helper()
	params.Set("Signature", signV1("POST", params, secret))
	resp, err := http.Post(ts.ts.URL+"/?"+params.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// rewriteTransport changes a request after the SDK has signed it.
type rewriteTransport struct {
	rewrite func(*http.Request) error
}

func (rt rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if err := rt.rewrite(r); err != nil {
		return nil, fmt.Errorf("rewrite request: %w", err)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func jsonParse(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", b, err)
	}
	return nil
}
