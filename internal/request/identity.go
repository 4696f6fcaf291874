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
	// Item marks an item of a batch request (ID is then
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
	h.Write([]byte(pre + strconv.Itoa(len(i.Source)) + ":" + i.Source + ":" + i.ID))
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// IdentityOf is the identity a request's source and id name, as a lookup
// by id sees it: an id of the batch item form names an item.
func IdentityOf(source, id string) Identity {
	return Identity{Source: source, ID: id, Item: events.IsBatchItemID(id)}
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
