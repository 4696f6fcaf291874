package vpcclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/vpngw/vpngw/internal/cloud"
)

// classify turns what the SDK returned into an *Error. The SDK's own error
// texts are not passed on as they are: a transport error quotes the whole
// signed URL (AccessKeyId, Signature, SignatureNonce, SecurityToken in its
// query), and the API's answer to a bad signature quotes the string it
// signed (the same query, encoded). creds are the credentials the call was
// signed with; their values are blanked wherever they still show.
func classify(action string, err error, creds cloud.Credentials) *cloud.Error {
	var own *cloud.Error
	if errors.As(err, &own) {
		// Decided before anything was sent (no credentials).
		e := *own
		e.Action = action
		return &e
	}
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		e := &cloud.Error{
			Action:     action,
			Code:       se.ErrorCode(),
			Message:    scrub(serverMessage(se.Message()), creds),
			RequestID:  se.RequestId(),
			HTTPStatus: se.HttpStatus(),
		}
		if e.Code == "" {
			e.Code = "HTTP" + strconv.Itoa(e.HTTPStatus)
			e.Message = ""
		}
		if hint := cloud.QuotaHint(e.Code); hint != "" {
			e.Message = strings.TrimRight(e.Message, ". ") + ". " + hint
		}
		switch {
		case cloud.ThrottlingCode(e.Code) || hasHeader(se.RespHeaders, "x-acs-retry-after"):
			// The Tea-generation core takes any error answer that
			// carries x-acs-retry-after as throttling; so does this.
			e.Kind = cloud.Throttled
			e.RetryAfter = retryAfter(se.RespHeaders)
		case cloud.OperatorCode(e.Code, e.HTTPStatus):
			e.Kind = cloud.Operator
		case e.HTTPStatus >= 500 || cloud.TransientCode(e.Code):
			e.Kind = cloud.Transient
		default:
			e.Kind = cloud.Permanent
		}
		return e
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		// A client error before anything was sent (bad parameters) is
		// permanent; timeouts and transport failures are not.
		var ne net.Error
		if ce.ErrorCode() == sdkerrors.TimeoutErrorCode || errors.As(ce.OriginError(), &ne) {
			return &cloud.Error{Action: action, Kind: cloud.Transient, Code: "Transport", Message: transportMessage(ce.OriginError(), creds)}
		}
		return &cloud.Error{Action: action, Kind: cloud.Permanent, Code: ce.ErrorCode(), Message: scrub(ce.Message(), creds)}
	}
	// Anything else from the HTTP client: connection refused or reset, EOF,
	// a certificate nobody trusts, a name that does not resolve, a timeout.
	return &cloud.Error{Action: action, Kind: cloud.Transient, Code: "Transport", Message: transportMessage(err, creds)}
}

// stringToSignMarker starts the part of the API's SignatureDoesNotMatch
// message that echoes the signed query.
const stringToSignMarker = "server string to sign is:"

// serverMessage is the API's message without the string to sign it may
// echo: that string holds the key id, the nonce and every parameter.
func serverMessage(msg string) string {
	if i := strings.Index(msg, stringToSignMarker); i >= 0 {
		msg = strings.TrimSpace(msg[:i]) + " (the text the API signed is not shown: it carries the access key id)"
	}
	return msg
}

// transportMessage describes a failure to get an answer without the
// request's URL: the method, scheme, host and path, and what went wrong
// (refused, timed out, TLS, DNS), in the words of the layer that failed.
func transportMessage(err error, creds cloud.Credentials) string {
	if err == nil {
		return "no answer"
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return scrub(err.Error(), creds)
	}
	where := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil {
		where = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	return scrub(ue.Op+" "+where+": "+transportKind(ue.Err)+ue.Err.Error(), creds)
}

// transportKind names the kind of transport failure, for a reader who
// must tell a network problem from a certificate or a name.
func transportKind(err error) string {
	var (
		dns     *net.DNSError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		certErr *tls.CertificateVerificationError
		ne      net.Error
	)
	switch {
	case errors.As(err, &dns):
		return "DNS: "
	case errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &certErr):
		return "TLS: "
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout: "
	}
	return ""
}

// signedQuery matches a URL's query wherever one is left in a text, and
// the parameters only a signed request carries, encoded or not.
var (
	urlQuery    = regexp.MustCompile(`\?[^\s"']*`)
	signedParam = regexp.MustCompile(`(?i)(AccessKeyId|Signature|SignatureNonce|SignatureMethod|SignatureVersion|SecurityToken|Timestamp)(=|%3D)[^\s&"']*`)
)

// scrub removes from s whatever of a signed request is still in it: URL
// queries, signed parameters, and the credentials' own values.
func scrub(s string, creds cloud.Credentials) string {
	s = urlQuery.ReplaceAllString(s, "?[query removed]")
	s = signedParam.ReplaceAllString(s, "[signed parameter removed]")
	for _, v := range []string{creds.SecurityToken, creds.AccessKeySecret, creds.AccessKeyID} {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// retryAfter reads how long the API asked the caller to wait, from either
// header style the gateway sends: "Limit:1,Remain:0,TimeLeft:2000,Reset:1234"
// in x-ratelimit-user-api (or x-ratelimit-user), TimeLeft in milliseconds,
// which the classic core SDK reads; and x-acs-retry-after, milliseconds,
// which the Tea-generation core reads. When both are present the longer
// wait is taken. A wait written 0 is read as a millisecond: the headers
// count whole milliseconds, so 0 says that the window ends within the
// next one, which is a wait named (the rate was near the quota), not an
// answer that named none (after which the client halves its rate).
func retryAfter(h map[string][]string) time.Duration {
	var wait time.Duration
	named := false
	for name, vals := range h {
		switch strings.ToLower(name) {
		case "x-ratelimit-user-api", "x-ratelimit-user":
			for _, v := range vals {
				for _, part := range strings.Split(v, ",") {
					k, val, ok := strings.Cut(strings.TrimSpace(part), ":")
					if ok && strings.EqualFold(k, "TimeLeft") {
						if ms, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64); err == nil && ms >= 0 && ms <= maxRetryAfterMs {
							wait, named = max(wait, time.Duration(ms)*time.Millisecond), true
						}
					}
				}
			}
		case "x-acs-retry-after":
			for _, v := range vals {
				if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ms >= 0 && ms <= maxRetryAfterMs {
					wait, named = max(wait, time.Duration(ms)*time.Millisecond), true
				}
			}
		}
	}
	if named {
		return max(wait, time.Millisecond)
	}
	return wait
}

// hasHeader says whether h has a header name (any case).
func hasHeader(h map[string][]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// maxRetryAfterMs bounds a header's wait, TimeLeft or x-acs-retry-after (a
// day): a larger number is not a wait anyone meant, and would hold the
// region's calls on every instance for as long.
const maxRetryAfterMs = 24 * 60 * 60 * 1000
