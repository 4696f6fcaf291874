package events

import (
	"encoding/json"
	"fmt"
)

// Batch event types.
const (
	// TypeBatchRequested asks for many gateways at once; data is
	// BatchRequest. Each item is a request of its own, identified by the
	// event's source and BatchItemID(event id, index), so a redelivered
	// batch creates nothing twice, and each item is answered by its own
	// accepted, active or failed events.
	TypeBatchRequested = "io.vpngw.gateway.batch.requested"
	// TypeBatchCompleted says every item of a batch has a terminal outcome
	// (active or failed); data is BatchCompleted. It is emitted once per
	// batch, after the last item's outcome.
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
// batch event, Total counts its items, Active and Failed count them by
// outcome (they add up to Total), and FailedItems lists each failed item in
// index order.
//
// FailedItems stops short of the whole list only when it would outgrow
// MaxOutcomeBytes (very long ids or reasons); FailedItemsOmitted then counts
// the failed items left out, whose own failed events say why.
type BatchCompleted struct {
	Request            RequestRef         `json:"Request"`
	Total              int                `json:"Total"`
	Active             int                `json:"Active"`
	Failed             int                `json:"Failed"`
	FailedItems        []BatchItemFailure `json:"FailedItems,omitempty"`
	FailedItemsOmitted int                `json:"FailedItemsOmitted,omitempty"`
}

// Bounded returns b cut down to fit MaxOutcomeBytes: each failed item's
// strings within their limits (a cut string ends in "…"), and the items,
// in index order, as many as fit, FailedItemsOmitted counting the rest.
func (b BatchCompleted) Bounded() BatchCompleted {
	b.Request = b.Request.bounded()
	if len(b.FailedItems) == 0 {
		b.FailedItems = nil
		return b
	}
	kept := make([]BatchItemFailure, 0, len(b.FailedItems))
	budget := maxListBytes
	for _, it := range b.FailedItems {
		it.Id = clipText(it.Id, maxRefText)
		it.VpnGatewayId = clipText(it.VpnGatewayId, maxShortText)
		it.Reason = clipText(it.Reason, maxFieldText)
		if budget -= encodedLen(it) + 1; budget < 0 {
			break
		}
		kept = append(kept, it)
	}
	b.FailedItemsOmitted += len(b.FailedItems) - len(kept)
	b.FailedItems = kept
	return b
}

// BatchItemFailure names one failed item of a batch and why it failed:
// VpnGatewayId is set when the item failed after CreateVpnGateway answered
// with a gateway, and Reason is "<Code>: <Message>" of the item's
// io.vpngw.gateway.failed, which holds the details.
type BatchItemFailure struct {
	Index        int    `json:"Index"`
	Id           string `json:"Id"` // the item's request id: "<event id>/<index>"
	VpnGatewayId string `json:"VpnGatewayId,omitempty"`
	Reason       string `json:"Reason"`
}

// BatchItemID is the request id of item index (from 0) of the batch event
// eventID: "<eventID>/<index as 4 digits>". The fixed width makes item ids
// sort in item order.
func BatchItemID(eventID string, index int) string {
	return fmt.Sprintf("%s/%04d", eventID, index)
}
