package vpcsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
)

func TestWrongSecretIsSignatureDoesNotMatchWithTheSDKsOwnStringToSign(t *testing.T) {
	sim := startSim(t)
	c := sim.clientWith(t, demoRegion, DefaultAccessKeyID, "not-the-secret")
	r := sim.createRequest()
	// Characters each encoding rule is about: space, "*", "~", "/", "+",
	// "&", "=", "%" and non-ASCII.
	r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "owner", Value: "net ops ~*/+&=% 网关"}}
	_, err := c.CreateVpnGateway(r)
	se := wantServerError(t, err, "SignatureDoesNotMatch", 400)
	// The SDK compares the server's string to sign with its own and says the
	// secret is wrong only when they are identical: proof that the emulator
	// canonicalizes byte for byte as the SDK does.
	if !strings.Contains(se.Recommend(), "InvalidAccessKeySecret") {
		t.Fatalf("the emulator's string to sign differs from the SDK's: %s", se.Recommend())
	}
	if sim.Calls(actionCreate) != 0 || len(sim.Gateways()) != 0 {
		t.Fatal("an unauthenticated call was counted or carried out")
	}
}

func TestTamperedRequestsAreRefused(t *testing.T) {
	cases := []struct {
		name    string
		rewrite func(*http.Request) error
		common  bool // send through the core client with the parameter in the form body
	}{
		{name: "query parameter changed", rewrite: func(r *http.Request) error {
			q := r.URL.Query()
			q.Set("Bandwidth", "10")
			r.URL.RawQuery = q.Encode()
			return nil
		}},
		{name: "query parameter added", rewrite: func(r *http.Request) error {
			q := r.URL.Query()
			q.Set("Name", "injected")
			r.URL.RawQuery = q.Encode()
			return nil
		}},
		{name: "method changed", rewrite: func(r *http.Request) error {
			r.Method = http.MethodGet
			r.Body, r.ContentLength = nil, 0
			return nil
		}},
		{name: "form body changed", common: true, rewrite: func(r *http.Request) error {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return err
			}
			body = bytes.Replace(body, []byte("Name=signed-name"), []byte("Name=forged-name"), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t)
			var err error
			if tc.common {
				c := sim.coreClient(t)
				c.SetTransport(rewriteTransport{tc.rewrite})
				r := sim.commonRequest(actionCreate)
				r.QueryParams["RegionId"], r.QueryParams["VpcId"], r.QueryParams["Bandwidth"] = demoRegion, demoVPC, "5"
				r.QueryParams["VSwitchId"], r.QueryParams["DisasterRecoveryVSwitchId"] = demoVSw1, demoVSw2
				r.FormParams["Name"] = "signed-name"
				_, err = c.ProcessCommonRequest(r)
			} else {
				c := sim.client(t)
				c.SetTransport(rewriteTransport{tc.rewrite})
				_, err = c.CreateVpnGateway(sim.createRequest())
			}
			wantServerError(t, err, "SignatureDoesNotMatch", 400)
			if len(sim.Gateways()) != 0 {
				t.Fatal("a tampered call was carried out")
			}
		})
	}
}

func TestUnknownAccessKey(t *testing.T) {
	sim := startSim(t)
	c := sim.clientWith(t, demoRegion, "LTAI5tNobodyHasThisKey", DefaultAccessKeySecret)
	_, err := c.DescribeVpnGateways(sim.listRequest())
	wantServerError(t, err, "InvalidAccessKeyId.NotFound", 404)
}

func TestSTSToken(t *testing.T) {
	const (
		stsKey    = "STS.NUgYrLnoC37mZZCNnAbez2"
		stsSecret = "sts-secret"
		stsToken  = "CAIS-token-of-the-role-session"
	)
	sim := startSim(t,
		WithAccessKey(DefaultAccessKeyID, DefaultAccessKeySecret),
		WithSTSToken(stsKey, stsSecret, stsToken, time.Time{}),
		WithSTSToken("STS.Expired", stsSecret, stsToken, time.Now().Add(-time.Minute)),
	)
	newSTS := func(ak, token string) *vpc.Client {
		c, err := vpc.NewClientWithStsToken(demoRegion, ak, stsSecret, token)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	if _, err := newSTS(stsKey, stsToken).CreateVpnGateway(sim.createRequest()); err != nil {
		t.Fatalf("valid STS token refused: %v", err)
	}
	_, err := newSTS(stsKey, "CAIS-some-other-token").DescribeVpnGateways(sim.listRequest())
	wantServerError(t, err, "InvalidSecurityToken.MismatchWithAccessKey", 400)

	_, err = sim.clientWith(t, demoRegion, stsKey, stsSecret).DescribeVpnGateways(sim.listRequest())
	wantServerError(t, err, "MissingSecurityToken", 400)

	_, err = newSTS("STS.Expired", stsToken).DescribeVpnGateways(sim.listRequest())
	wantServerError(t, err, "InvalidSecurityToken.Expired", 400)

	// A permanent key with a token attached is not an STS credential.
	c, err := vpc.NewClientWithStsToken(demoRegion, DefaultAccessKeyID, DefaultAccessKeySecret, stsToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeVpnGateways(sim.listRequest())
	wantServerError(t, err, "InvalidSecurityToken.MismatchWithAccessKey", 400)
}

func TestTimestampOutsideFifteenMinutes(t *testing.T) {
	// The service clock is 20 minutes ahead of the SDK's wall clock.
	sim := startSim(t, WithAuthClock(func() time.Time { return time.Now().Add(20 * time.Minute) }))
	_, err := sim.client(t).DescribeVpnGateways(sim.listRequest())
	wantServerError(t, err, "InvalidTimeStamp.Expired", 400)

	sim = startSim(t, WithAuthClock(func() time.Time { return time.Now().Add(-20 * time.Minute) }))
	_, err = sim.client(t).DescribeVpnGateways(sim.listRequest())
	wantServerError(t, err, "InvalidTimeStamp.Expired", 400)

	sim = startSim(t, WithAuthClock(func() time.Time { return time.Now().Add(14 * time.Minute) }))
	if _, err := sim.client(t).DescribeVpnGateways(sim.listRequest()); err != nil {
		t.Fatalf("14 minutes of skew refused: %v", err)
	}
}

// errorBodyOf decodes an error answer.
func errorBodyOf(t *testing.T, resp *http.Response) errorBody {
	t.Helper()
	var body errorBody
	b, _ := io.ReadAll(resp.Body)
	if err := jsonParse(b, &body); err != nil {
		t.Fatal(err)
	}
	return body
}

func TestHandSignedRequests(t *testing.T) {
	sim := startSim(t)
	now := time.Now()
	list := map[string]string{"RegionId": demoRegion}

	// Signed with an implementation written from the documentation, not the
	// SDK: accepted.
	resp := sim.postV1(t, v1Params(actionDescribeList, list, "nonce-1", now), DefaultAccessKeySecret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("hand-signed request: %d %+v", resp.StatusCode, errorBodyOf(t, resp))
	}

	// edited returns a DescribeVpnGateways call's parameters changed by edit.
	edited := func(nonce string, edit func(v url.Values)) url.Values {
		v := v1Params(actionDescribeList, list, nonce, now)
		edit(v)
		return v
	}
	cases := []struct {
		name   string
		params url.Values
		code   string
		status int
	}{
		{"nonce reused", v1Params(actionDescribeList, list, "nonce-1", now), "SignatureNonceUsed", 400},
		{"timestamp malformed", edited("nonce-2", func(v url.Values) { v.Set("Timestamp", now.Format(time.RFC1123)) }), "InvalidTimeStamp.Format", 400},
		{"wrong version", edited("nonce-3", func(v url.Values) { v.Set("Version", "2014-05-26") }), "InvalidVersion", 400},
		{"unknown action", v1Params("CreateVpnGatewayNow", list, "nonce-4", now), "InvalidAction.NotFound", 404},
		{"missing action", edited("nonce-5", func(v url.Values) { v.Del("Action") }), "MissingParameter", 400},
		{"HMAC-SHA256 in version 1.0", edited("nonce-6", func(v url.Values) { v.Set("SignatureMethod", "HMAC-SHA256") }), "InvalidSignatureMethod", 400},
		{"unknown format", edited("nonce-7", func(v url.Values) { v.Set("Format", "YAML") }), "InvalidParameter", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := sim.postV1(t, tc.params, DefaultAccessKeySecret)
			body := errorBodyOf(t, resp)
			if resp.StatusCode != tc.status || body.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, body.Code, body.Message, tc.status, tc.code)
			}
			if body.RequestID == "" || body.RequestID != resp.Header.Get("x-acs-request-id") || body.HostID != sim.host || body.Recommend == "" {
				t.Fatalf("incomplete error body %+v", body)
			}
		})
	}

	// A GET with everything in the query is signed with "GET&%2F&…".
	params := v1Params(actionDescribeList, list, "nonce-get", now)
	params.Set("Signature", signV1("GET", params, DefaultAccessKeySecret))
	get, err := http.Get(sim.ts.URL + "/?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer get.Body.Close()
	if get.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %+v", get.StatusCode, errorBodyOf(t, get))
	}

	// A parameter given twice is refused rather than read one way by the
	// signature check and another by the handler.
	params = v1Params(actionDescribeList, list, "nonce-dup", now)
	params.Set("Signature", signV1("POST", params, DefaultAccessKeySecret))
	dup, err := http.Post(sim.ts.URL+"/?"+params.Encode(), "application/x-www-form-urlencoded", strings.NewReader("RegionId=cn-beijing"))
	if err != nil {
		t.Fatal(err)
	}
	defer dup.Body.Close()
	if body := errorBodyOf(t, dup); dup.StatusCode != 400 || body.Code != "InvalidParameter" {
		t.Fatalf("duplicate parameter: %d %+v", dup.StatusCode, body)
	}
}

func TestXMLFormat(t *testing.T) {
	sim := startSim(t, WithProvisioningDelay(0))
	c := sim.client(t)
	r := sim.createRequest()
	r.AcceptFormat = "XML"
	r.Tags = &[]vpc.CreateVpnGatewayTags{{Key: "k", Value: "v"}}
	created, err := c.CreateVpnGateway(r)
	if err != nil {
		t.Fatalf("CreateVpnGateway in XML: %v", err)
	}
	if !strings.HasPrefix(created.VpnGatewayId, "vpn-") || created.OrderId == 0 || !strings.Contains(created.GetHttpContentString(), "<CreateVpnGatewayResponse>") {
		t.Fatalf("XML answer not decoded: %+v\n%s", created, created.GetHttpContentString())
	}

	l := sim.listRequest()
	l.AcceptFormat = "XML"
	list, err := c.DescribeVpnGateways(l)
	if err != nil {
		t.Fatalf("DescribeVpnGateways in XML: %v", err)
	}
	if list.TotalCount != 1 || len(list.VpnGateways.VpnGateway) != 1 {
		t.Fatalf("XML list not decoded: %s", list.GetHttpContentString())
	}
	g := list.VpnGateways.VpnGateway[0]
	if g.VpnGatewayId != created.VpnGatewayId || g.Spec != "5M" || g.Status != StatusActive ||
		len(g.Tags.Tag) != 1 || g.Tags.Tag[0].Key != "k" {
		t.Fatalf("XML gateway %+v", g)
	}

	// Errors are an <Error> element.
	params := v1Params(actionDescribeList, map[string]string{"RegionId": demoRegion}, "xml-err", time.Now())
	params.Set("Format", "XML")
	resp := sim.postV1(t, params, "wrong-secret")
	var e struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		RequestId string
		HostId    string
		Message   string
	}
	b, _ := io.ReadAll(resp.Body)
	if err := xml.Unmarshal(b, &e); err != nil || resp.StatusCode != 400 || e.Code != "SignatureDoesNotMatch" || e.RequestId == "" {
		t.Fatalf("XML error: %v, %d, %s", err, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Fatalf("Content-Type %q", ct)
	}
}

// acs3Signer signs requests with ACS3-HMAC-SHA256, written from Alibaba
// Cloud's "V3 request structure and signature" documentation independently of
// the emulator: it signs host, content-type and every x-acs-* header.
type acs3Signer struct {
	ak, secret, token string
}

func acs3Encode(s string) string {
	s = url.QueryEscape(s)
	s = strings.ReplaceAll(s, "+", "%20")
	s = strings.ReplaceAll(s, "*", "%2A")
	return strings.ReplaceAll(s, "%7E", "~")
}

func (sg acs3Signer) sign(r *http.Request, body []byte, action, nonce string, at time.Time) {
	sum := sha256.Sum256(body)
	r.Header.Set("x-acs-action", action)
	r.Header.Set("x-acs-version", APIVersion)
	r.Header.Set("x-acs-date", at.UTC().Format("2006-01-02T15:04:05Z"))
	r.Header.Set("x-acs-signature-nonce", nonce)
	r.Header.Set("x-acs-content-sha256", hex.EncodeToString(sum[:]))
	if sg.token != "" {
		r.Header.Set("x-acs-security-token", sg.token)
	}
	headers := map[string]string{"host": r.Host}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-acs-") || lk == "content-type" {
			headers[lk] = strings.TrimSpace(v[0])
		}
	}
	names := slices.Sorted(maps.Keys(headers))
	var canonHeaders strings.Builder
	for _, n := range names {
		fmt.Fprintf(&canonHeaders, "%s:%s\n", n, headers[n])
	}
	q := r.URL.Query()
	keys := slices.Sorted(maps.Keys(q))
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, acs3Encode(k)+"="+acs3Encode(q.Get(k)))
	}
	signed := strings.Join(names, ";")
	canonical := strings.Join([]string{r.Method, "/", strings.Join(pairs, "&"), canonHeaders.String(), signed, hex.EncodeToString(sum[:])}, "\n")
	hashed := sha256.Sum256([]byte(canonical))
	m := hmac.New(sha256.New, []byte(sg.secret))
	m.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(hashed[:])))
	r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+sg.ak+",SignedHeaders="+signed+",Signature="+hex.EncodeToString(m.Sum(nil)))
}

// acs3Request builds a CreateVpnGateway call with the given query and form.
func (ts *testSim) acs3Request(t *testing.T, query, form url.Values) (*http.Request, []byte) {
	t.Helper()
	body := []byte(form.Encode())
	r, err := http.NewRequest(http.MethodPost, ts.ts.URL+"/?"+query.Encode(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r, body
}

func doRequest(t *testing.T, r *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestACS3Signature(t *testing.T) {
	sim := startSim(t, WithAccessKey(DefaultAccessKeyID, DefaultAccessKeySecret), WithSTSToken("STS.acs3", "acs3-secret", "acs3-token", time.Time{}))
	query := url.Values{"RegionId": {demoRegion}, "VpcId": {demoVPC}, "VSwitchId": {demoVSw1},
		"Tags.1.Key": {"owner"}, "Tags.1.Value": {"net ops ~*/+&=% 网关"}}
	form := url.Values{"DisasterRecoveryVSwitchId": {demoVSw2}, "Bandwidth": {"10"}, "Name": {"acs3 signed*~"}}
	signer := acs3Signer{ak: DefaultAccessKeyID, secret: DefaultAccessKeySecret}

	r, body := sim.acs3Request(t, query, form)
	signer.sign(r, body, actionCreate, "acs3-nonce-1", time.Now())
	resp, b := doRequest(t, r)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("want the name refused, got %d %s", resp.StatusCode, b)
	}
	var created struct {
		VpnGatewayId, RequestId string
		OrderId                 int64
	}
	if err := jsonParse(b, &created); err != nil {
		t.Fatal(err)
	}
	// The name holds a space, "*" and "~", which the two sides must encode
	// alike (%20, %2A, ~): the call passes the signature check and is then
	// refused by the name rule, not as SignatureDoesNotMatch.
	if created.VpnGatewayId != "" {
		t.Fatalf("an invalid name was accepted: %s", b)
	}
	if !strings.Contains(string(b), "InvalidName") {
		t.Fatalf("want InvalidName, got %s", b)
	}

	form.Set("Name", "acs3-signed_1")
	r, body = sim.acs3Request(t, query, form)
	signer.sign(r, body, actionCreate, "acs3-nonce-2", time.Now())
	resp, b = doRequest(t, r)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ACS3 request refused: %d %s", resp.StatusCode, b)
	}
	if err := jsonParse(b, &created); err != nil {
		t.Fatal(err)
	}
	g, err := sim.Gateway(created.VpnGatewayId)
	if err != nil || g.Name != "acs3-signed_1" || g.Bandwidth != 10 || g.DisasterRecoveryVSwitchID != demoVSw2 {
		t.Fatalf("gateway %+v, %v", g, err)
	}

	// STS through x-acs-security-token.
	r, body = sim.acs3Request(t, url.Values{"RegionId": {demoRegion}}, url.Values{})
	acs3Signer{ak: "STS.acs3", secret: "acs3-secret", token: "acs3-token"}.sign(r, body, actionDescribeList, "acs3-nonce-sts", time.Now())
	if resp, b := doRequest(t, r); resp.StatusCode != http.StatusOK {
		t.Fatalf("ACS3 with STS token refused: %d %s", resp.StatusCode, b)
	}

	tampered := []struct {
		name   string
		change func(r *http.Request)
		code   string
	}{
		{"body changed", func(r *http.Request) {
			nb := []byte(url.Values{"DisasterRecoveryVSwitchId": {demoVSw2}, "Bandwidth": {"1000"}, "Name": {"acs3-signed_1"}}.Encode())
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(nb)), int64(len(nb))
		}, "SignatureDoesNotMatch"},
		{"query changed", func(r *http.Request) {
			q := r.URL.Query()
			q.Set("VSwitchId", demoVSw2)
			r.URL.RawQuery = q.Encode()
		}, "SignatureDoesNotMatch"},
		{"action header changed", func(r *http.Request) { r.Header.Set("x-acs-action", actionDescribeList) }, "SignatureDoesNotMatch"},
		{"unsigned x-acs header added", func(r *http.Request) { r.Header.Set("x-acs-extra", "1") }, "IncompleteSignature"},
		{"signature not hex", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Signature=", "Signature=zz", 1))
		}, "SignatureDoesNotMatch"},
	}
	for i, tc := range tampered {
		t.Run(tc.name, func(t *testing.T) {
			before := len(sim.Gateways())
			r, body := sim.acs3Request(t, query, form)
			signer.sign(r, body, actionCreate, "acs3-tamper-"+strconv.Itoa(i), time.Now())
			tc.change(r)
			resp, b := doRequest(t, r)
			var e errorBody
			if err := jsonParse(b, &e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || e.Code != tc.code {
				t.Fatalf("got %d %s, want 400 %s", resp.StatusCode, b, tc.code)
			}
			if len(sim.Gateways()) != before {
				t.Fatal("a tampered ACS3 call was carried out")
			}
		})
	}

	// Reusing an ACS3 nonce is refused like a version 1.0 one.
	r, body = sim.acs3Request(t, url.Values{"RegionId": {demoRegion}}, url.Values{})
	signer.sign(r, body, actionDescribeList, "acs3-nonce-1", time.Now())
	resp, b = doRequest(t, r)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "SignatureNonceUsed") {
		t.Fatalf("reused ACS3 nonce: %d %s", resp.StatusCode, b)
	}
}

func TestUnknownActionAndVersionThroughTheCoreSDK(t *testing.T) {
	sim := startSim(t)
	c := sim.coreClient(t)
	r := sim.commonRequest("CreateVpnGatewayPlease")
	r.QueryParams["RegionId"] = demoRegion
	_, err := c.ProcessCommonRequest(r)
	wantServerError(t, err, "InvalidAction.NotFound", 404)

	r = sim.commonRequest(actionDescribeList)
	r.Version = "2014-05-26"
	_, err = c.ProcessCommonRequest(r)
	wantServerError(t, err, "InvalidVersion", 400)
}

func TestSignatureErrorNeverEchoesTheSecurityToken(t *testing.T) {
	const token = "CAIS-very-secret-session-token"
	sim := startSim(t, WithSTSToken("STS.echo", "right-secret", token, time.Time{}))
	c, err := vpc.NewClientWithStsToken(demoRegion, "STS.echo", "wrong-secret", token)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeVpnGateways(sim.listRequest())
	se := wantServerError(t, err, "SignatureDoesNotMatch", 400)
	if strings.Contains(se.Message(), token) || strings.Contains(se.Error(), token) {
		t.Fatalf("the security token leaked into the error: %s", se.Message())
	}
	if !strings.Contains(se.Message(), "SecurityToken%3DREDACTED") {
		t.Fatalf("want the redacted string to sign, got %s", se.Message())
	}
}
