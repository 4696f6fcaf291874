// Package signing is the one implementation of vpngw's own request
// signature: X-Vpngw-Timestamp carries the Unix seconds of signing and
// X-Vpngw-Signature v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
// The webhook verifies inbound requests with it and the HTTP sink signs
// outbound events with it, so that a receiver checks an event exactly as
// the README tells a sender to sign. It imports nothing of vpngw's, so a
// publisher can use it without pulling in the domain.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Headers of the scheme.
const (
	// HeaderTimestamp carries the time of signing, in Unix seconds.
	HeaderTimestamp = "X-Vpngw-Timestamp"
	// HeaderSignature carries one or more comma-separated
	// v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
	HeaderSignature = "X-Vpngw-Signature"
)

// Sign signs body at time t: the values of HeaderTimestamp and
// HeaderSignature.
func Sign(secret string, t time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	return timestamp, "v1=" + hex.EncodeToString(MAC([]byte(secret), timestamp, body))
}

// MAC is HMAC-SHA256(secret, timestamp + "." + body).
func MAC(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
