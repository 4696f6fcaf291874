package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/webhook/signing"
)

// Headers of the POST / scheme.
const (
	// HeaderTimestamp carries the time of signing, in Unix seconds.
	HeaderTimestamp = signing.HeaderTimestamp
	// HeaderSignature carries one or more comma-separated
	// v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
	HeaderSignature = signing.HeaderSignature
)

// Headers Slack and DingTalk sign their requests with.
const (
	// HeaderSlackTimestamp carries the time of signing, in Unix seconds.
	HeaderSlackTimestamp = "X-Slack-Request-Timestamp"
	// HeaderSlackSignature carries v0=<hex HMAC-SHA256(signing secret,
	// "v0:" + timestamp + ":" + body)>.
	HeaderSlackSignature = "X-Slack-Signature"
	// HeaderDingTalkTimestamp carries the time of signing, in Unix
	// milliseconds.
	HeaderDingTalkTimestamp = "Timestamp"
	// HeaderDingTalkSign carries base64(HMAC-SHA256(AppSecret, timestamp +
	// "\n" + AppSecret)); the body is not signed.
	HeaderDingTalkSign = "Sign"
)

// maxSignatures bounds the v1 values one request may carry: enough for a
// rotation, not enough to make checking them work.
const maxSignatures = 4

// authError is why a request was refused before anything in it was read.
// Its text is shown to the sender and logged, so it never holds a signature
// or a secret.
type authError struct{ reason string }

func (e *authError) Error() string { return e.reason }

func authErrorf(format string, args ...any) *authError {
	return &authError{reason: fmt.Sprintf(format, args...)}
}

// verified is what an authentic request leaves for the replay guard: a key
// that names its signed content, and until when the guard must keep it.
type verified struct {
	replayKey string
	until     time.Time
	// header and at are the signed timestamp, checked again once the guard
	// has answered.
	header string
	at     time.Time
}

// replayMargin is how long the guard keeps a key past the last instant its
// timestamp is accepted (exactly the skew away, which is still accepted). A
// guard may keep time more coarsely than the nanosecond, and a key it let go
// at that very instant would let a replay through.
const replayMargin = time.Second

// newVerified is what a request signed at t under scheme leaves: its key is
// kept for as long as t can be accepted, both ways, the boundary included.
func newVerified(key, header string, t time.Time, skew time.Duration) verified {
	return verified{replayKey: key, until: t.Add(skew + replayMargin), header: header, at: t}
}

// Sign signs body for POST / at time t: the values of HeaderTimestamp and
// HeaderSignature. Senders written in Go may use it; every other sender
// computes the same HMAC (see the package documentation).
func Sign(secret string, t time.Time, body []byte) (timestamp, signature string) {
	return signing.Sign(secret, t, body)
}

func genericMAC(secret []byte, timestamp string, body []byte) []byte {
	return signing.MAC(secret, timestamp, body)
}

// verifyKeys checks a POST / request: a fresh timestamp and a v1
// signature made with a secret of one of keys over exactly these bytes. It
// returns the index of that key.
func verifyKeys(h http.Header, body []byte, keys []signer, now time.Time, skew time.Duration) (verified, int, error) {
	var secrets [][]byte
	var owner []int
	for i, k := range keys {
		for _, s := range k.secrets {
			secrets, owner = append(secrets, s), append(owner, i)
		}
	}
	v, at, err := verifyGenericAt(h, body, secrets, now, skew)
	if err != nil {
		return verified{}, -1, err
	}
	return v, owner[at], nil
}

// verifyGeneric checks a POST / request against a flat list of secrets.
func verifyGeneric(h http.Header, body []byte, secrets [][]byte, now time.Time, skew time.Duration) (verified, error) {
	v, _, err := verifyGenericAt(h, body, secrets, now, skew)
	return v, err
}

// verifyGenericAt is verifyGeneric that also returns the index of the
// secret that signed.
func verifyGenericAt(h http.Header, body []byte, secrets [][]byte, now time.Time, skew time.Duration) (verified, int, error) {
	ts, err := oneHeader(h, HeaderTimestamp)
	if err != nil {
		return verified{}, -1, err
	}
	sigHeader := strings.Join(h.Values(HeaderSignature), ",")
	if strings.TrimSpace(sigHeader) == "" {
		return verified{}, -1, authErrorf("missing %s header", HeaderSignature)
	}
	t, err := parseUnix(HeaderTimestamp, ts, time.Second, 11)
	if err != nil {
		return verified{}, -1, err
	}
	if err := checkSkew(HeaderTimestamp, t, now, skew); err != nil {
		return verified{}, -1, err
	}
	sigs, err := parseV1(sigHeader)
	if err != nil {
		return verified{}, -1, err
	}
	at := matchIndex(sigs, secrets, func(secret []byte) []byte { return genericMAC(secret, ts, body) })
	if at < 0 {
		return verified{}, -1, authErrorf("%s does not match the body: sign %q + \".\" + the exact body bytes with HMAC-SHA256 and the shared secret", HeaderSignature, ts)
	}
	// The key names the signed content, not the signature that matched: the
	// same content signed with the current and the previous secret is still
	// one request.
	return newVerified(contentKey("v1", []byte(ts), []byte{'.'}, body), HeaderTimestamp, t, skew), at, nil
}

// parseV1 reads "v1=<hex>[,v1=<hex>...]". Values of other versions are
// skipped, so that a sender can add a newer scheme before this receiver
// knows it.
func parseV1(header string) ([][]byte, error) {
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		version, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, authErrorf("%s is malformed: want v1=<64 hex digits>, comma-separated", HeaderSignature)
		}
		if version != "v1" {
			continue
		}
		sig, err := hex.DecodeString(value)
		if err != nil || len(sig) != sha256.Size {
			return nil, authErrorf("%s: a v1 value is not 64 hex digits", HeaderSignature)
		}
		if len(sigs) == maxSignatures {
			return nil, authErrorf("%s carries more than %d v1 values", HeaderSignature, maxSignatures)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return nil, authErrorf("%s has no v1 value", HeaderSignature)
	}
	return sigs, nil
}

// matchIndex is the index of the first of secrets under which one of sigs
// is the MAC, or -1, comparing in constant time.
func matchIndex(sigs [][]byte, secrets [][]byte, mac func(secret []byte) []byte) int {
	for i, secret := range secrets {
		want := mac(secret)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				return i
			}
		}
	}
	return -1
}

// verifySlack checks a Slack request as Slack documents it: X-Slack-Signature
// is v0=<hex HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + body)>,
// X-Slack-Request-Timestamp in Unix seconds.
func verifySlack(h http.Header, body []byte, secret []byte, now time.Time, skew time.Duration) (verified, error) {
	ts, sigValue, t, err := chatHeaders(h, HeaderSlackTimestamp, HeaderSlackSignature, time.Second, 11)
	if err != nil {
		return verified{}, err
	}
	if err := checkSkew(HeaderSlackTimestamp, t, now, skew); err != nil {
		return verified{}, err
	}
	hexSig, ok := strings.CutPrefix(sigValue, "v0=")
	sig, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(sig) != sha256.Size {
		return verified{}, authErrorf("%s is malformed: want v0=<64 hex digits>", HeaderSlackSignature)
	}
	if !hmac.Equal(sig, slackMAC(secret, ts, body)) {
		return verified{}, authErrorf("%s does not match the body and the signing secret", HeaderSlackSignature)
	}
	return newVerified(contentKey("slack", []byte("v0:"+ts+":"), body), HeaderSlackTimestamp, t, skew), nil
}

// SignSlack signs a Slack request body at time t as Slack does: the values
// of HeaderSlackTimestamp and HeaderSlackSignature. POST /slack verifies
// with the same MAC.
func SignSlack(secret string, t time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	return timestamp, "v0=" + hex.EncodeToString(slackMAC([]byte(secret), timestamp, body))
}

func slackMAC(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return m.Sum(nil)
}

// SignDingTalk signs a DingTalk outgoing robot request at time t as
// DingTalk does: the values of HeaderDingTalkTimestamp (milliseconds) and
// HeaderDingTalkSign. The body is not signed. POST /dingtalk verifies with
// the same MAC.
func SignDingTalk(appSecret string, t time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(t.UnixMilli(), 10)
	return timestamp, base64.StdEncoding.EncodeToString(dingTalkMAC([]byte(appSecret), timestamp))
}

func dingTalkMAC(secret []byte, timestamp string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'\n'})
	m.Write(secret)
	return m.Sum(nil)
}

// verifyDingTalk checks a DingTalk outgoing robot request as DingTalk
// documents it: the header sign is base64(HMAC-SHA256(appSecret, timestamp +
// "\n" + appSecret)), timestamp in Unix milliseconds. The body is not
// signed; see the package documentation for what that leaves open.
func verifyDingTalk(h http.Header, secret []byte, now time.Time, skew time.Duration) (verified, error) {
	ts, signValue, t, err := chatHeaders(h, HeaderDingTalkTimestamp, HeaderDingTalkSign, time.Millisecond, 14)
	if err != nil {
		return verified{}, err
	}
	if err := checkSkew(HeaderDingTalkTimestamp, t, now, skew); err != nil {
		// Read as seconds, a current timestamp is some 55 years old:
		// say what is wrong rather than how old it is.
		if n, perr := strconv.ParseInt(ts, 10, 64); perr == nil && checkSkew(HeaderDingTalkTimestamp, time.Unix(n, 0), now, skew) == nil {
			return verified{}, authErrorf("%s header %s is a Unix time in seconds; DingTalk's is in milliseconds (13 digits, such as %d)", HeaderDingTalkTimestamp, ts, now.UnixMilli())
		}
		return verified{}, err
	}
	sign, err := base64.StdEncoding.DecodeString(signValue)
	if err != nil || len(sign) != sha256.Size {
		return verified{}, authErrorf("sign header is malformed: want the base64 of a 32-byte HMAC-SHA256")
	}
	if !hmac.Equal(sign, dingTalkMAC(secret, ts)) {
		return verified{}, authErrorf("sign header does not match the timestamp and the robot's AppSecret")
	}
	// The sign depends on the timestamp alone, so the timestamp is the key:
	// each (timestamp, sign) pair carries one message, whatever its body.
	return newVerified("dingtalk:"+ts, HeaderDingTalkTimestamp, t, skew), nil
}

// chatHeaders reads the headers a chat platform signs a request with, each
// required once: the timestamp tsName, a Unix time in unit of at most
// digits digits, read as t, and the signature sigName.
func chatHeaders(h http.Header, tsName, sigName string, unit time.Duration, digits int) (ts, sig string, t time.Time, err error) {
	if ts, err = oneHeader(h, tsName); err != nil {
		return "", "", time.Time{}, err
	}
	if sig, err = oneHeader(h, sigName); err != nil {
		return "", "", time.Time{}, err
	}
	t, err = parseUnix(tsName, ts, unit, digits)
	return ts, sig, t, err
}

// oneHeader returns the single value of a required header.
func oneHeader(h http.Header, name string) (string, error) {
	vals := h.Values(name)
	switch {
	case len(vals) == 0 || strings.TrimSpace(vals[0]) == "":
		return "", authErrorf("missing %s header", name)
	case len(vals) > 1:
		return "", authErrorf("%s header given %d times; want one", name, len(vals))
	}
	return strings.TrimSpace(vals[0]), nil
}

// parseUnix reads a timestamp of decimal digits only (no sign, no spaces, at
// most maxDigits) in the given unit.
func parseUnix(name, s string, unit time.Duration, maxDigits int) (time.Time, error) {
	if len(s) == 0 || len(s) > maxDigits || strings.TrimLeft(s, "0123456789") != "" {
		return time.Time{}, authErrorf("%s header is not a Unix time in %s: want up to %d decimal digits", name, unitName(unit), maxDigits)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, authErrorf("%s header is out of range", name)
	}
	if unit == time.Millisecond {
		return time.UnixMilli(n), nil
	}
	return time.Unix(n, 0), nil
}

func unitName(unit time.Duration) string {
	if unit == time.Millisecond {
		return "milliseconds"
	}
	return "seconds"
}

// checkSkew refuses a timestamp further than skew from now, either way: an
// old one may be a captured request replayed after the guard forgot it, a
// future one would be remembered for longer than the window allows.
func checkSkew(name string, t, now time.Time, skew time.Duration) error {
	d := now.Sub(t)
	switch {
	case d > skew:
		return authErrorf("%s is %s old; requests older than %s are refused (stale, or the sender's clock is wrong)", name, d.Truncate(time.Second), skew)
	case -d > skew:
		return authErrorf("%s is %s in the future; more than %s ahead is refused (check the sender's clock)", name, (-d).Truncate(time.Second), skew)
	}
	return nil
}

// contentKey names signed content in 64 hex digits plus a scheme prefix,
// well inside the store's 128-byte limit whatever the body's size.
func contentKey(scheme string, content ...[]byte) string {
	h := sha256.New()
	for _, part := range content {
		h.Write(part)
	}
	return scheme + ":" + hex.EncodeToString(h.Sum(nil))
}
