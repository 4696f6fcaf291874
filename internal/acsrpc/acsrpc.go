// Package acsrpc is Alibaba Cloud's RPC signature, version 1.0
// (HMAC-SHA1 over the sorted parameters), as a service checks it. The
// API stand-ins (internal/vpcsim for VPC, internal/secrets/kmssim for KMS)
// verify the core SDK's requests with it, so both hold a request to the same
// rule the real gateways apply.
package acsrpc

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"slices"
	"strings"
)

// PercentEncode is the RFC 3986 encoding both signature versions use: every
// byte except A-Z a-z 0-9 - _ . ~ becomes %XX with upper-case hex. It equals
// the core SDK's url.QueryEscape followed by "+"→"%20", "*"→"%2A", "%7E"→"~".
func PercentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

// StringToSign is the signature version 1.0 string to sign:
// METHOD&%2F&percentEncode(k1=v1&k2=v2…), keys sorted, Signature left out.
func StringToSign(method string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var canon strings.Builder
	for i, k := range keys {
		if i > 0 {
			canon.WriteByte('&')
		}
		canon.WriteString(PercentEncode(k))
		canon.WriteByte('=')
		canon.WriteString(PercentEncode(params[k]))
	}
	return method + "&" + PercentEncode("/") + "&" + PercentEncode(canon.String())
}

// Sign is base64(HMAC-SHA1(secret + "&", stringToSign)).
func Sign(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether params (the query and form parameters of one
// request sent with method) carry the signature secret makes, and returns
// the string to sign the service computed, which services echo in their
// SignatureDoesNotMatch answers. SecurityToken is shown as REDACTED in it,
// so that an echoed string never carries the token into a caller's logs.
func Verify(method string, params map[string]string, secret string) (bool, string) {
	sts := StringToSign(method, params)
	if hmac.Equal([]byte(Sign(secret, sts)), []byte(params["Signature"])) {
		return true, sts
	}
	if _, ok := params["SecurityToken"]; ok {
		redacted := make(map[string]string, len(params))
		for k, v := range params {
			redacted[k] = v
		}
		redacted["SecurityToken"] = "REDACTED"
		sts = StringToSign(method, redacted)
	}
	return false, sts
}
