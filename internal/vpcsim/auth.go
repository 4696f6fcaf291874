package vpcsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/acsrpc"
)

// maxSkew is how far a request's timestamp may be from the service's clock,
// and how long a signature nonce is remembered.
const maxSkew = 15 * time.Minute

// acs3CanonicalQuery encodes the query with keys and values percent-encoded,
// sorted by key, as "k=v" pairs (an empty value gives "k=").
func acs3CanonicalQuery(q url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pair{acsrpc.PercentEncode(k), acsrpc.PercentEncode(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// acs3CanonicalRequest is
// METHOD \n URI \n query \n headers (each "name:value\n") \n signed \n payload hash.
func (req *apiRequest) acs3CanonicalRequest(signed []string) string {
	var headers strings.Builder
	for _, name := range signed {
		var value string
		if name == "host" {
			value = req.host
		} else {
			vals := slices.Clone(req.header.Values(name))
			for i := range vals {
				vals[i] = strings.TrimSpace(vals[i])
			}
			slices.Sort(vals)
			value = strings.Join(vals, ",")
		}
		headers.WriteString(name)
		headers.WriteByte(':')
		headers.WriteString(strings.TrimSpace(value))
		headers.WriteByte('\n')
	}
	sum := sha256.Sum256(req.body)
	return req.method + "\n" + req.path + "\n" + acs3CanonicalQuery(req.query) + "\n" +
		headers.String() + "\n" + strings.Join(signed, ";") + "\n" + hex.EncodeToString(sum[:])
}

func acs3StringToSign(canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return acs3Algorithm + "\n" + hex.EncodeToString(sum[:])
}

func acs3Sign(secret, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

// acs3RequiredHeaders must be present and signed in every ACS3 request.
var acs3RequiredHeaders = []string{"x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}

// checkCommon validates the parameters that name the call: the action must
// exist in this API version. The gateway resolves the API before it looks at
// the signature, so these come first.
func checkCommon(req *apiRequest) *apiError {
	if req.action == "" {
		return errMissingCommon("Action")
	}
	if req.version == "" {
		return errMissingCommon("Version")
	}
	if req.version != APIVersion {
		return errInvalidVersion()
	}
	if !knownActions[req.action] {
		return errActionNotFound()
	}
	return nil
}

// authenticate settles who sent req. It returns the credential used; the
// caller records the nonce only when the whole check passed.
func (s *Server) authenticate(req *apiRequest) *apiError {
	now := s.authClock()
	switch req.style {
	case styleACS3:
		for _, h := range acs3RequiredHeaders {
			if req.header.Get(h) == "" {
				return errMissingCommon(h)
			}
		}
		if !slices.Contains(req.signedHeaders, "host") {
			return errIncompleteSignature("The host header must be signed.")
		}
		for name := range req.header {
			lower := strings.ToLower(name)
			if strings.HasPrefix(lower, "x-acs-") && !slices.Contains(req.signedHeaders, lower) {
				return errIncompleteSignature("The header " + lower + " must be signed.")
			}
		}
		for _, name := range req.signedHeaders {
			if name != strings.ToLower(name) || name == "" {
				return errIncompleteSignature("SignedHeaders must be lower-case header names.")
			}
		}
		if !slices.IsSorted(req.signedHeaders) {
			return errIncompleteSignature("SignedHeaders must be sorted.")
		}
	default:
		if req.accessKeyID == "" {
			return errMissingCommon("AccessKeyId")
		}
		if req.signature == "" {
			return errIncompleteSignature("The Signature parameter is missing.")
		}
		switch m, ok := req.params["SignatureMethod"]; {
		case !ok:
			return errMissingCommon("SignatureMethod")
		case m != "HMAC-SHA1":
			return errSignatureMethod()
		}
		switch v, ok := req.params["SignatureVersion"]; {
		case !ok:
			return errMissingCommon("SignatureVersion")
		case v != "1.0":
			return errSignatureVersion()
		}
		if t := req.params["SignatureType"]; t != "" {
			// BEARERTOKEN signing is for a few products only; VPC refuses it.
			return errInvalidParam("SignatureType", "Bearer tokens are not accepted by this API.")
		}
		if req.nonce == "" {
			return errMissingCommon("SignatureNonce")
		}
		if req.timestamp == "" {
			return errMissingCommon("Timestamp")
		}
	}

	ts, err := time.Parse(time.RFC3339, req.timestamp)
	if err != nil || !strings.HasSuffix(req.timestamp, "Z") {
		return errTimestampFormat()
	}
	if d := now.Sub(ts); d > maxSkew || d < -maxSkew {
		return errTimestampExpired()
	}

	s.credMu.RLock()
	cred, ok := s.creds[req.accessKeyID]
	s.credMu.RUnlock()
	if !ok {
		return errAccessKeyNotFound()
	}
	if cred.Disabled {
		return errAccessKeyInactive()
	}
	switch {
	case cred.SecurityToken != "" && req.securityToken == "":
		return errMissingSecurityToken()
	case subtle.ConstantTimeCompare([]byte(cred.SecurityToken), []byte(req.securityToken)) != 1:
		return errTokenMismatch()
	case cred.SecurityToken != "" && !cred.Expiration.IsZero() && !now.Before(cred.Expiration):
		return errTokenExpired()
	}

	switch req.style {
	case styleACS3:
		sts := acs3StringToSign(req.acs3CanonicalRequest(req.signedHeaders))
		want, _ := hex.DecodeString(acs3Sign(cred.AccessKeySecret, sts))
		got, err := hex.DecodeString(req.signature)
		if err != nil || !hmac.Equal(want, got) {
			return errSignatureMismatch(sts)
		}
	default:
		if ok, sts := acsrpc.Verify(req.method, req.params, cred.AccessKeySecret); !ok {
			return errSignatureMismatch(sts)
		}
	}

	if !s.useNonce(req.accessKeyID, req.nonce, now) {
		return errNonceUsed()
	}
	if slices.Contains(cred.DeniedActions, req.action) {
		return errForbiddenRAM()
	}
	return nil
}

// useNonce records a nonce and reports whether it was new within maxSkew.
// Older nonces are forgotten: a request that old fails the timestamp check.
func (s *Server) useNonce(ak, nonce string, now time.Time) bool {
	s.nonceMu.Lock()
	defer s.nonceMu.Unlock()
	if now.Sub(s.lastSweep) > time.Minute {
		for k, t := range s.nonces {
			if now.Sub(t) > maxSkew {
				delete(s.nonces, k)
			}
		}
		s.lastSweep = now
	}
	key := ak + "\x00" + nonce
	if t, seen := s.nonces[key]; seen && now.Sub(t) <= maxSkew {
		return false
	}
	s.nonces[key] = now
	return true
}
