package intake

import (
	"net/http"

	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/request"
)

// MaxBatch is the largest number of events one delivery may hold. It is far
// above an EventBridge batch window and matches the largest batch the rest of
// vpngw plans for (1,000 gateways), while bounding the work one malformed or
// hostile delivery can cause.
const MaxBatch = 1000

// DefaultMaxBody is the HTTP body limit FromHTTP applies when it is given none.
// A full batch of MaxBatch requests of about 1 KiB each fits with room to spare.
const DefaultMaxBody int64 = 4 << 20

// SpecVersion is the only CloudEvents spec version accepted.
const SpecVersion = "1.0"

// Item is one event of a delivery.
type Item struct {
	// Identity holds the event's source, id and subject, as far as the event
	// gave them as strings, also when Err is set.
	Identity request.Identity
	// Type is the event's type attribute, passed through uninterpreted.
	Type string
	// Data is the event data as the bytes of one JSON object (decoded from
	// data_base64, or unwrapped from a JSON string, when needed). Nil when Err
	// is set: the data of a malformed event is not to be acted on.
	Data []byte
	// TraceParent is the traceparent extension, if any, to be passed on to the
	// events that answer this one.
	TraceParent string
	// Time is the time attribute, verbatim; it is not interpreted.
	Time string
	// Extensions holds every other extension attribute as a string (see the
	// package documentation for how non-string values are rendered). Nil when
	// there are none.
	Extensions map[string]string
	// Origin is what the platform stamps on an event it delivers: the
	// Alibaba Cloud EventBridge bus (BusExtension) and the rule's route
	// constant (RouteExtension) of a CloudEvent, the account of an Amazon
	// EventBridge event. Only an event-bus delivery may be trusted with it
	// (BusInputs); Inputs, for what a webhook or plain HTTP sender wrote,
	// drops it.
	Origin policy.Origin
	// Ignored names the members or headers that were skipped because their
	// names are not CloudEvents attribute names, sorted. Nil when there are
	// none.
	Ignored []string
	// Index is the event's position in the delivery, 0 for a single event.
	Index int
	// Err is non-nil when this event is malformed; it is then an
	// *EventError. The other items of the delivery are still usable.
	Err error
	// Raw is the event as it arrived (the array element, the object, or the
	// binary-mode body), so that a malformed event without an id can still
	// be told apart from another by its content.
	Raw []byte
}

func withRaw(it Item, raw []byte) Item {
	it.Raw = raw
	return it
}

// Kind classifies a delivery-level error.
type Kind int

// Kinds of delivery-level errors.
const (
	// Malformed: the delivery is not a CloudEvent or a batch of them (400).
	Malformed Kind = iota + 1
	// TooLarge: the body or batch is over the limit (413).
	TooLarge
	// UnsupportedMediaType: the content type or encoding is not one that
	// carries CloudEvents in JSON (415).
	UnsupportedMediaType
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Malformed:
		return "malformed"
	case TooLarge:
		return "too large"
	case UnsupportedMediaType:
		return "unsupported media type"
	}
	return "unknown"
}

// HTTPStatus is the HTTP status an HTTP edge answers with for this kind.
func (k Kind) HTTPStatus() int {
	switch k {
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}

// Error is a delivery-level error: nothing in the delivery could be used.
// Retrying the same delivery cannot succeed.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errorf(k Kind, msg string) *Error { return &Error{Kind: k, Msg: msg} }

// EventError says why one event is malformed (request.EventError: the
// provision use case reads it too, without importing this package).
type EventError = request.EventError
