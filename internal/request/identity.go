package request

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
)

// Identity is who asked: the request event's source and id (and subject, kept
// only to name the request back to its sender). Source and EventID together are
// unique per request under the CloudEvents spec, so they are the request's key.
type Identity struct {
	Source  string
	EventID string
	Subject string
	// Item marks an item of a batch request (EventID is then
	// events.BatchItemID(batch id, index)): its key is derived apart from
	// every event's, so that no event, whatever its id, lands on an item's
	// record or shares its ClientToken.
	Item bool
}

// Key is the request's stable key: the same for every delivery of the same
// event, different for different events, printable, and 40 characters long so
// that every store can index it.
func (i Identity) Key() string {
	h := sha256.New()
	// Length prefixes keep ("a","bc") and ("ab","c") apart; an event's key
	// starts with a digit, an item's with "item:".
	pre := ""
	if i.Item {
		pre = "item:"
	}
	h.Write([]byte(pre + strconv.Itoa(len(i.Source)) + ":" + i.Source + ":" + i.EventID))
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// IdentityOf is the identity a request's source and id name, as a lookup
// by id sees it: an id of the batch item form names an item.
func IdentityOf(source, id string) Identity {
	return Identity{Source: source, EventID: id, Item: events.IsBatchItemID(id)}
}

// MaxIdentityLength is the longest source, id and subject a request may
// have, in characters: what every store keeps whole (VARCHAR(1024) on
// MySQL; TEXT on SQLite and PostgreSQL).
const MaxIdentityLength = 1024

// Check reports what keeps the identity from naming a request in the store
// and in the events that answer it, one FieldError per attribute (Field
// "source", "id" or "subject", as CloudEvents names them): longer than
// MaxIdentityLength characters, not valid UTF-8, or holding a control
// character (U+0000 to U+001F, U+007F to U+009F: PostgreSQL refuses NUL in
// text, and none of them shows in a log or a console). Such a request cannot
// be recorded as sent, so it is refused unrecorded.
func (i Identity) Check() []events.FieldError {
	var errs []events.FieldError
	for _, a := range []struct{ field, value string }{{"source", i.Source}, {"id", i.EventID}, {"subject", i.Subject}} {
		allowed := fmt.Sprintf("at most %d characters of valid UTF-8, no control characters", MaxIdentityLength)
		switch n := utf8.RuneCountInString(a.value); {
		case !utf8.ValidString(a.value):
			errs = append(errs, events.FieldError{Field: a.field, Value: clip(strings.ToValidUTF8(a.value, "\ufffd")), Allowed: allowed,
				Message: fmt.Sprintf("%s is not valid UTF-8", a.field)})
		case n > MaxIdentityLength:
			errs = append(errs, events.FieldError{Field: a.field, Value: clip(a.value), Allowed: allowed,
				Message: fmt.Sprintf("%s is %d characters long; at most %d are kept", a.field, n, MaxIdentityLength)})
		default:
			if j := strings.IndexFunc(a.value, isControl); j >= 0 {
				errs = append(errs, events.FieldError{Field: a.field, Value: clip(strconv.QuoteToASCII(a.value)), Allowed: allowed,
					Message: fmt.Sprintf("%s holds the control character %U at byte %d", a.field, firstRune(a.value[j:]), j)})
			}
		}
	}
	return errs
}

// isControl reports a C0 or C1 control character or DEL.
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }

// Ref names the request in the events that answer it.
func (i Identity) Ref() events.RequestRef {
	return events.RequestRef{Source: i.Source, EventID: i.EventID, Subject: i.Subject}
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
//     event's source, the requester's principal and the token (48
//     characters). The same requester giving the same token in a new event
//     (a retry through a path that makes new events) gets the same gateway;
//     another source, or another principal of the same source (another
//     webhook key, another chat user), giving that token gets a token of its
//     own, and cannot make the first one's request fail with
//     IdempotentParameterMismatch.
//
// principal is the requester's principal (policy.Requester.Principal) for a
// request that came through a webhook route, and "" for an event-bus
// delivery, whose requester is its source alone.
//
// Both are ASCII and within the API's 64-character limit.
func ClientToken(id Identity, principal string, r events.GatewayRequest) string {
	if r.ClientToken != "" {
		h := sha256.New()
		// Length prefixes keep ("a","bc") and ("ab","c") apart; the label
		// keeps these hashes apart from the request keys, and the two
		// labels keep a bus requester's apart from a webhook requester's.
		if principal == "" {
			h.Write([]byte("vpngw client token\x00" + strconv.Itoa(len(id.Source)) + ":" + id.Source + ":" + r.ClientToken))
		} else {
			h.Write([]byte("vpngw client token by\x00" + strconv.Itoa(len(id.Source)) + ":" + id.Source + ":" +
				strconv.Itoa(len(principal)) + ":" + principal + ":" + r.ClientToken))
		}
		return givenTokenPrefix + hex.EncodeToString(h.Sum(nil))[:40]
	}
	return DerivedTokenPrefix + id.Key()[:32]
}
