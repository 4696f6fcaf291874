package vpcsim

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseRequest feeds arbitrary methods, query strings, bodies and
// headers through request parsing, authentication and the whole handler.
// None of it may panic, and every answer must be a well-formed API answer.
func FuzzParseRequest(f *testing.F) {
	now := time.Now()
	signed := v1Params(actionCreate, map[string]string{
		"RegionId": demoRegion, "VpcId": demoVPC, "VSwitchId": demoVSw1,
		"DisasterRecoveryVSwitchId": demoVSw2, "Bandwidth": "5", "Tags.1.Key": "k", "Tags.1.Value": "v",
	}, "fuzz-seed", now)
	signed.Set("Signature", signV1("POST", signed, DefaultAccessKeySecret))

	f.Add("POST", signed.Encode(), "", "application/x-www-form-urlencoded", "", "")
	f.Add("GET", "Action=DescribeVpnGateways&Version=2016-04-28&RegionId=cn-hangzhou", "", "", "", "")
	f.Add("POST", "Action=CreateVpnGateway", "Name=x&Tag.0.Key=a&Tag.21.Value=b&Tag.x.Key=1", "application/x-www-form-urlencoded; charset=utf-8", "", "")
	f.Add("POST", "%zz&a=1&a=2;b", "%%%&&==", "application/x-www-form-urlencoded", "", "")
	f.Add("POST", "Format=XML&Action=DescribeVpnGateway", "", "text/plain", "", "")
	f.Add("POST", "RegionId=cn-hangzhou", "Bandwidth=5", "application/x-www-form-urlencoded",
		"ACS3-HMAC-SHA256 Credential=LTAI5tVpngwLocalDemoKey,SignedHeaders=host;x-acs-action,Signature=00ff", "CreateVpnGateway")
	f.Add("POST", "", "", "", "ACS3-HMAC-SHA256 Credential=,,SignedHeaders,Signature=", "")
	f.Add("POST", "", "", "", "ACS3-RSA-SHA256 Credential=a", "")
	f.Add("DELETE", "Action=DeleteVpnGateway", "", "", "", "")

	sim := New(WithRandSeed(7))
	f.Fuzz(func(t *testing.T, method, rawQuery, body, contentType, authz, acsAction string) {
		newReq := func() *http.Request {
			r := &http.Request{
				Method: method,
				URL:    &url.URL{Path: "/", RawQuery: rawQuery},
				Header: http.Header{},
				Body:   io.NopCloser(strings.NewReader(body)),
				Host:   "vpc.test",
			}
			if contentType != "" {
				r.Header.Set("Content-Type", contentType)
			}
			if authz != "" {
				r.Header.Set("Authorization", authz)
			}
			if acsAction != "" {
				r.Header.Set("x-acs-action", acsAction)
				r.Header.Set("x-acs-version", APIVersion)
				r.Header.Set("x-acs-date", now.UTC().Format("2006-01-02T15:04:05Z"))
				r.Header.Set("x-acs-signature-nonce", rawQuery)
				r.Header.Set("x-acs-content-sha256", contentType)
			}
			return r
		}

		req, aerr := parseRequest(newReq())
		if req == nil {
			t.Fatal("parseRequest returned no request")
		}
		if aerr == nil {
			// Every parameter comes, unchanged, from the query or the form.
			q, _ := url.ParseQuery(rawQuery)
			form, _ := url.ParseQuery(body)
			for k, v := range req.params {
				if !(q.Has(k) && q.Get(k) == v) && !(form.Has(k) && form.Get(k) == v) {
					t.Fatalf("parameter %q=%q is in neither the query nor the form", k, v)
				}
			}
			if checkCommon(req) == nil {
				_ = sim.authenticate(req)
			}
		}

		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, newReq())
		res := rec.Result()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode == http.StatusOK {
			return
		}
		var e errorBody
		if strings.HasPrefix(res.Header.Get("Content-Type"), "application/xml") {
			if err := xml.Unmarshal(out, &e); err != nil {
				t.Fatalf("XML error answer does not parse: %v: %s", err, out)
			}
		} else if err := json.Unmarshal(out, &e); err != nil {
			t.Fatalf("JSON error answer does not parse: %v: %s", err, out)
		}
		if e.Code == "" || e.RequestID == "" || res.StatusCode < 400 {
			t.Fatalf("status %d with incomplete error %s", res.StatusCode, out)
		}
	})
}
