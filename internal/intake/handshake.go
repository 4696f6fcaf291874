package intake

import (
	"net/http"
	"strconv"
	"strings"
)

// Header names of the CloudEvents Webhook abuse-protection handshake
// (CloudEvents HTTP 1.1 Web Hooks, version 1.0, section 4).
const (
	HeaderWebHookRequestOrigin = "WebHook-Request-Origin"
	HeaderWebHookRequestRate   = "WebHook-Request-Rate"
	HeaderWebHookAllowedOrigin = "WebHook-Allowed-Origin"
	HeaderWebHookAllowedRate   = "WebHook-Allowed-Rate"
)

// maxOriginLength bounds WebHook-Request-Origin: a DNS name is at most 253
// characters.
const maxOriginLength = 253

// Handshake answers the CloudEvents Webhook abuse-protection handshake, the
// OPTIONS request a sender makes before delivering to a webhook (HTTP 1.1
// Web Hooks for Event Delivery, version 1.0, section 4). Serve it on the
// same path as the POST that takes the events.
//
// Every origin is consented to: the answer's WebHook-Allowed-Origin is the
// WebHook-Request-Origin asked for. The handshake only protects a target
// from deliveries it does not expect, it does not authenticate anyone; the
// endpoints that serve it either check a signature on every delivery (the
// webhook's POST /) or sit behind the platform's own access control (the
// HTTP intake), so a list of origins would be one more setting to keep in
// step with the senders, for no protection. An origin that is not a DNS
// name (spaces, control characters, a URL, over 253 characters) is
// answered 400 without consent, so nothing the sender wrote is echoed.
//
// WebHook-Allowed-Rate is perMinute when it is above zero: the requests per
// minute the target lets through before answering 429 (a rate asked for
// below it is granted as asked). At zero no rate limit applies and it is
// "*". The optional WebHook-Request-Callback is not called: consent is
// given in the answer, and a target calling URLs a request names would be a
// way to make it fetch anything.
func Handshake(perMinute int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "OPTIONS, POST")
		origin := strings.TrimSpace(r.Header.Get(HeaderWebHookRequestOrigin))
		if origin == "" {
			// A plain OPTIONS: what the resource allows, and no consent.
			w.WriteHeader(http.StatusOK)
			return
		}
		if !validOrigin(origin) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(HeaderWebHookRequestOrigin + " must be a DNS name such as eventemitter.example.com (letters, digits, '-', '.', at most 253 characters)\n"))
			return
		}
		rate := "*"
		if perMinute > 0 {
			granted := perMinute
			if asked, err := strconv.Atoi(strings.TrimSpace(r.Header.Get(HeaderWebHookRequestRate))); err == nil && asked > 0 && asked < perMinute {
				granted = asked
			}
			rate = strconv.Itoa(granted)
		} else if asked, err := strconv.Atoi(strings.TrimSpace(r.Header.Get(HeaderWebHookRequestRate))); err == nil && asked > 0 {
			// No limit: grant what was asked, which the spec says must be
			// answered when asked for.
			rate = strconv.Itoa(asked)
		}
		w.Header().Set(HeaderWebHookAllowedOrigin, origin)
		w.Header().Set(HeaderWebHookAllowedRate, rate)
		w.WriteHeader(http.StatusOK)
	})
}

// validOrigin reports whether s reads as a DNS name (or a wildcard label
// "*."), optionally with a port: what the spec says WebHook-Request-Origin
// holds.
func validOrigin(s string) bool {
	if len(s) > maxOriginLength {
		return false
	}
	host := s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if _, err := strconv.ParseUint(s[i+1:], 10, 16); err != nil {
			return false
		}
		host = s[:i]
	}
	if host == "" {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || (c == '*' && label == "*")) {
				return false
			}
		}
	}
	return true
}
