package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says whether repeating a failed call can succeed.
type Kind int

const (
	// Permanent: the API refused the request itself; repeating it will fail again.
	Permanent Kind = iota
	// Transient: no answer, a server error, or "try later"; repeating may succeed.
	Transient
	// Throttled: the account's API quota is spent for now; repeat after RetryAfter.
	Throttled
)

func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Throttled:
		return "throttled"
	default:
		return "permanent"
	}
}

// Error is a failed API call. Its text carries the action, code, message and
// request id, never the request's signature, credentials or string-to-sign:
// the SDK's own texts quote the signed URL (transport errors) and the string
// to sign (SignatureDoesNotMatch), so vpcclient rebuilds a transport error's
// message from the method, host and kind of failure, and cuts the string to
// sign out of the API's message.
type Error struct {
	Action     string
	Kind       Kind
	Code       string // the API's error code, or "Transport" when no answer came back
	Message    string
	RequestID  string
	HTTPStatus int
	RetryAfter time.Duration // from the throttling headers, when the API said
	Attempts   int
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", e.Action, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.HTTPStatus)
		if e.RequestID != "" {
			s += ", RequestId " + e.RequestID
		}
		s += ")"
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return s
}

// IsTransient reports whether err is worth repeating later (a transient or
// throttled API failure, or a cancelled/expired context).
func IsTransient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind != Permanent
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// TransientCode reports whether code is one after which the same request may
// succeed later.
func TransientCode(code string) bool { return transientCodes[code] }

// Codes after which the same request may succeed later. The VPC API's advice
// is to retry only on 5xx or when no answer came back; these 4xx codes say
// "busy, try later" in their own words. Sources: the VPC API error centre
// (OperationConflict, IncorrectStatus.*, LastTokenProcessing,
// ServiceUnavailable) and the SDK's throttling codes.
var transientCodes = map[string]bool{
	"ServiceUnavailable":         true,
	"InternalError":              true,
	"UnknownError":               true,
	"OperationConflict":          true,
	"LastTokenProcessing":        true,
	"IncorrectVpcStatus":         true,
	"IncorrectStatus.VpnGateway": true,
	"TaskConflict":               true,
}

// ThrottlingCode reports whether code is one of the API's throttling codes.
func ThrottlingCode(code string) bool {
	return code == "Throttling" || strings.HasPrefix(code, "Throttling.")
}

// Retryable reports whether the same call may succeed later.
func (e *Error) Retryable() bool { return e.Kind != Permanent }

// APICode is the API's error code.
func (e *Error) APICode() string { return e.Code }

// APIMessage is the API's error message.
func (e *Error) APIMessage() string { return e.Message }

// APIRequestID is the API's request id, for support tickets.
func (e *Error) APIRequestID() string { return e.RequestID }
