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

// ClientToken is the idempotency token sent with CreateVpnGateway: the
// request's own when it gives one, otherwise derived from the identity alone,
// so that every redelivery of one event sends the same token and no two
// events share one. The derived form is ASCII and 38 characters, within the
// API's 64-character limit.
func ClientToken(id Identity, r events.GatewayRequest) string {
	if r.ClientToken != "" {
		return r.ClientToken
	}
	return "vpngw-" + id.Key()[:32]
}
