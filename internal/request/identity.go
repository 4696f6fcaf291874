package request

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/vpngw/vpngw/events"
)

// Identity is who asked: the request event's source and id (and subject, kept
// only to name the request back to its sender). Source and ID together are
// unique per request under the CloudEvents spec, so they are the request's key.
type Identity struct {
	Source  string
	ID      string
	Subject string
}

// Key is the request's stable key: the same for every delivery of the same
// event, different for different events, printable, and 40 characters long so
// that every store can index it.
func (i Identity) Key() string {
	h := sha256.New()
	// Length prefixes keep ("a","bc") and ("ab","c") apart.
	h.Write([]byte(strconv.Itoa(len(i.Source)) + ":" + i.Source + ":" + i.ID))
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// Ref names the request in the events that answer it.
func (i Identity) Ref() events.RequestRef {
	return events.RequestRef{Source: i.Source, Id: i.ID, Subject: i.Subject}
}

// DerivedTokenPrefix starts every ClientToken vpngw sends to the API. A
// request may not give a token that starts with it (in any case), so that
// no one mistakes a token they saw in an event for one to send.
const DerivedTokenPrefix = "vpngw-"

// givenTokenPrefix starts the API token made from a token the request gives;
// "t" is not a hex digit, so these never meet a token derived from an
// identity alone.
const givenTokenPrefix = DerivedTokenPrefix + "t-"

// ClientToken is the idempotency token sent with CreateVpnGateway. It is
// always derived, so that no requester can choose the token another
// requester's request is sent with:
//
//   - without a token of the request's own: "vpngw-" and the first 32 hex
//     digits of the identity's key (38 characters), the same for every
//     redelivery of one event and different for every other event;
//   - with one: "vpngw-t-" and the first 40 hex digits of the SHA-256 of the
//     event's source and the token (48 characters). The same source giving
//     the same token in a new event (a retry through a path that makes new
//     events) gets the same gateway; another source giving that token gets
//     a token of its own, and cannot make the first one's request fail with
//     IdempotentParameterMismatch.
//
// Both are ASCII and within the API's 64-character limit.
func ClientToken(id Identity, r events.GatewayRequest) string {
	if r.ClientToken != "" {
		h := sha256.New()
		// Length prefixes keep ("a","bc") and ("ab","c") apart; the label
		// keeps these hashes apart from the request keys.
		h.Write([]byte("vpngw client token\x00" + strconv.Itoa(len(id.Source)) + ":" + id.Source + ":" + r.ClientToken))
		return givenTokenPrefix + hex.EncodeToString(h.Sum(nil))[:40]
	}
	return DerivedTokenPrefix + id.Key()[:32]
}
