package events

import (
	"encoding/json"
	"fmt"

	"github.com/vpngw/vpngw/internal/textcut"
)

// Batch event types.
const (
	// TypeBatchRequested asks for many gateways at once; data is
	// BatchRequest. Each item is a request of its own, identified by the
	// event's source and BatchItemID(event id, index), so a redelivered
	// batch creates nothing twice, and each item is answered by its own
	// accepted, active or failed events. No event may have an id of that
	// form, so an item's id never collides with an event's.
	TypeBatchRequested = "io.vpngw.gateway.batch.requested"
	// TypeBatchCompleted says every item of a batch has a terminal outcome
	// (active, failed, or validated for a dry run); data is BatchCompleted.
	// It is emitted once per batch, after the last item's outcome.
	TypeBatchCompleted = "io.vpngw.batch.completed"
)

// MaxBatchItems bounds the items of one batch request. BatchItemID writes
// the index in 4 digits, enough for every index below it.
const MaxBatchItems = 1000

// BatchRequest is the data of io.vpngw.gateway.batch.requested: 1 to
// MaxBatchItems items, each the data of a GatewayRequest. The items stay raw
// JSON here (DecodeData checks only the envelope) because internal/request
// decodes and validates each on its own, so one bad item never spoils the
// others and is answered with its own FieldErrors.
type BatchRequest struct {
	Requests []json.RawMessage `json:"Requests"`
}

// BatchCompleted is the data of io.vpngw.batch.completed: Request names the
// batch event, Total counts its items, Active, Failed and Validated count
// them by outcome (they add up to Total), and FailedItems lists each failed
// item in index order. Validated counts the items of a dry run that passed
// validation and the policy (io.vpngw.gateway.validated): nothing was
// created for them; a dry-run item that did not pass is Failed.
//
// FailedItems stops short of the whole list only when it would outgrow
// MaxOutcomeBytes (very long ids or reasons); FailedItemsOmitted then counts
// the failed items left out, whose own failed events say why.
type BatchCompleted struct {
	Request            RequestRef         `json:"Request"`
	Total              int                `json:"Total"`
	Active             int                `json:"Active"`
	Failed             int                `json:"Failed"`
	Validated          int                `json:"Validated"`
	FailedItems        []BatchItemFailure `json:"FailedItems,omitempty"`
	FailedItemsOmitted int                `json:"FailedItemsOmitted,omitempty"`
}

// Bounded returns b cut down to fit MaxOutcomeBytes: each failed item's
// strings within their limits (a cut string ends in "…"), and the items,
// in index order, as many as fit, FailedItemsOmitted counting the rest.
func (b BatchCompleted) Bounded() BatchCompleted {
	b.Request = b.Request.bounded()
	var omitted int
	b.FailedItems, omitted = boundList(b.FailedItems, len(b.FailedItems), func(it BatchItemFailure) BatchItemFailure {
		it.EventID = textcut.Clip(it.EventID, maxRefText)
		it.VpnGatewayId = textcut.Clip(it.VpnGatewayId, maxShortText)
		it.Reason = textcut.Clip(it.Reason, maxFieldText)
		return it
	})
	b.FailedItemsOmitted += omitted
	return b
}

// BatchItemFailure names one failed item of a batch and why it failed:
// VpnGatewayId is set when the item failed after CreateVpnGateway answered
// with a gateway, and Reason is "<Code>: <Message>" of the item's
// io.vpngw.gateway.failed, which holds the details.
type BatchItemFailure struct {
	Index        int    `json:"Index"`
	EventID      string `json:"Id"` // the item's request id: BatchItemID, "<event id>/item-<index>"
	VpnGatewayId string `json:"VpnGatewayId,omitempty"`
	Reason       string `json:"Reason"`
}

// BatchItemID is the request id of item index (from 0) of the batch event
// eventID: "<eventID>/item-<index as 4 digits>" ("nightly-42/item-0007").
// vpngw refuses an event whose own id has this form (IsBatchItemID), so an
// item's id never collides with the id of an event from the same source.
// The fixed width makes item ids sort in item order.
func BatchItemID(eventID string, index int) string {
	return fmt.Sprintf("%s%s%04d", eventID, batchItemInfix, index)
}

// batchItemInfix separates the batch event's id from the item's index.
const batchItemInfix = "/item-"

// IsBatchItemID reports whether id has the form BatchItemID gives: it ends
// in "/item-" and 4 digits, after at least one character. A request event
// with such an id is refused, since it would name an item of a batch.
func IsBatchItemID(id string) bool {
	n := len(batchItemInfix) + 4
	if len(id) <= n || id[len(id)-n:len(id)-4] != batchItemInfix {
		return false
	}
	for _, c := range id[len(id)-4:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
