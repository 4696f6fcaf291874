package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
)

// Keys of the identity tags. Their prefix is reserved: a request may not
// carry a tag key that starts with it, and a policy may not add one, so an
// identity tag on a gateway was always put there by vpngw.
const (
	IdentityTagPrefix = "vpngw:"

	// TagSource holds the request event's CloudEvents source.
	TagSource = IdentityTagPrefix + "source"
	// TagEventID holds the request event's CloudEvents id.
	TagEventID = IdentityTagPrefix + "event-id"
	// TagRequester holds who asked (Requester.Principal).
	TagRequester = IdentityTagPrefix + "requester"
	// TagClientToken holds the ClientToken the request gave, in place of
	// TagEventID (see TokenIdentityTags).
	TagClientToken = IdentityTagPrefix + "client-token"
	// TagExpires holds when vpngw deletes the gateway (RFC 3339, UTC),
	// on a gateway whose request carried vpngwexpires.
	TagExpires = IdentityTagPrefix + "expires"
)

// identityTagCount is how many tags IdentityTags returns; Decide keeps room
// for them under the API's tag limit.
const identityTagCount = 3

// IdentityTags returns the tags that trace a gateway back to its request:
// the event's source and id (which together name the request, and so the
// ticket or chat message behind it) and the requester. They are the same
// for every delivery of one event, which matters: they are sent with
// CreateVpnGateway, and a retry with the same ClientToken must send the same
// parameters or the API answers IdempotentParameterMismatch.
//
// Values are made acceptable to the tag service (its rules are listed in
// internal/request/rules.go): every ":" followed by slashes keeps one
// slash (values may not contain http:// or https://, in any case; so
// "http:///x" becomes "http:/x"), a value starting with "aliyun" or "acs:"
// in any case (EventBridge sources do) gets a leading "_", and a value
// longer than 128 characters is cut to 119 and ended with "~" and the first 8 hex digits of
// the SHA-256 of the original, so that two long values that share a
// beginning stay apart. Anything else is kept as given.
func IdentityTags(source, eventID, requester string) []events.Tag {
	return []events.Tag{
		{Key: TagSource, Value: safeTagValue(source)},
		{Key: TagEventID, Value: safeTagValue(eventID)},
		{Key: TagRequester, Value: safeTagValue(requester)},
	}
}

// TokenIdentityTags are IdentityTags for a request that gives its own
// ClientToken: the token takes the event id's place. A requester that gives
// a token retries by sending it again, possibly in a new event (a producer
// calling PutEvents again); with the event id among the tags each retry
// would send CreateVpnGateway other parameters under the same token, and the
// API would answer IdempotentParameterMismatch instead of the gateway it
// made. The token names the request as well as the event id did.
func TokenIdentityTags(source, clientToken, requester string) []events.Tag {
	return []events.Tag{
		{Key: TagSource, Value: safeTagValue(source)},
		{Key: TagClientToken, Value: safeTagValue(clientToken)},
		{Key: TagRequester, Value: safeTagValue(requester)},
	}
}

// safeTagValue makes v a valid tag value; see IdentityTags.
func safeTagValue(v string) string {
	out := defuseSchemes(v)
	lower := strings.ToLower(out)
	// Case-insensitive here, stricter than request.Validate, because a value
	// vpngw writes itself must never be the one the API refuses.
	for _, p := range request.ReservedTagPrefixes {
		if strings.HasPrefix(lower, p) {
			out = "_" + out
			break
		}
	}
	if utf8.RuneCountInString(out) <= request.MaxTagValueLength {
		return out
	}
	sum := sha256.Sum256([]byte(v))
	suffix := "~" + hex.EncodeToString(sum[:4])
	r := []rune(out)
	return string(r[:request.MaxTagValueLength-len(suffix)]) + suffix
}

// defuseSchemes turns every ":" followed by slashes into ":/", in one pass,
// so that no "://" is left (and with it no "http://" or "https://" in any
// case). Replacing "://" by ":/" once is not enough: "http:///x" would
// become "http://x".
func defuseSchemes(v string) string {
	if !strings.Contains(v, "://") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		b.WriteByte(v[i])
		if v[i] == ':' && i+1 < len(v) && v[i+1] == '/' {
			b.WriteByte('/')
			for i+1 < len(v) && v[i+1] == '/' {
				i++
			}
		}
	}
	return b.String()
}

// checkTagText reports what is wrong with a tag key or value the policy file
// gives, or "" when it is acceptable. what is "key" or "value".
func checkTagText(s, what string, max int) string {
	lower := strings.ToLower(s)
	switch {
	case what == "key" && s == "":
		return "a tag key may not be empty"
	case utf8.RuneCountInString(s) > max:
		return "a tag " + what + " is at most " + strconv.Itoa(max) + " characters long"
	case slices.ContainsFunc(request.ReservedTagPrefixes, func(p string) bool { return strings.HasPrefix(lower, p) }):
		return "a tag " + what + ` may not start with "aliyun" or "acs:" (reserved for the platform's own tags)`
	case slices.ContainsFunc(request.URLSchemes, func(p string) bool { return strings.Contains(lower, p) }):
		return "a tag " + what + ` may not contain "http://" or "https://"`
	case what == "key" && IsReservedTagKey(s):
		return `tag keys starting with "` + IdentityTagPrefix + `" are reserved for the identity tags vpngw adds itself, in any case and with look-alike or invisible characters`
	}
	return ""
}
