package events

import (
	"encoding/json"
	"fmt"
)

// Batch event types.
const (
	// TypeBatchRequested asks for many gateways at once; data is
	// BatchRequest. Each item is a request of its own, with the identity
	// source + "<event id>/<index>", so a redelivered batch creates nothing
	// twice.
	TypeBatchRequested = "io.vpngw.gateway.batch.requested"
	// TypeBatchCompleted says every item of a batch has a terminal outcome;
	// data is BatchCompleted.
	TypeBatchCompleted = "io.vpngw.batch.completed"
)

// MaxBatchItems bounds the items of one batch request.
const MaxBatchItems = 1000

// BatchRequest is the data of io.vpngw.gateway.batch.requested: each item is
// a GatewayRequest, decoded and validated on its own so one bad item never
// spoils the others.
type BatchRequest struct {
	Requests []json.RawMessage `json:"Requests"`
}

// BatchCompleted is the data of io.vpngw.batch.completed.
type BatchCompleted struct {
	Request     RequestRef         `json:"Request"`
	Total       int                `json:"Total"`
	Active      int                `json:"Active"`
	Failed      int                `json:"Failed"`
	FailedItems []BatchItemFailure `json:"FailedItems,omitempty"`
}

// BatchItemFailure names one failed item of a batch and why it failed.
type BatchItemFailure struct {
	Index        int    `json:"Index"`
	Id           string `json:"Id"` // the item's request id: "<event id>/<index>"
	VpnGatewayId string `json:"VpnGatewayId,omitempty"`
	Reason       string `json:"Reason"`
}

// BatchItemID is the request id of item index of the batch event id.
func BatchItemID(eventID string, index int) string {
	return fmt.Sprintf("%s/%04d", eventID, index)
}
