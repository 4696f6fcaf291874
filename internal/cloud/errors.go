package cloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
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
// request id, never the request's signature, credentials or string-to-sign
// (the SDK's own error text can include the latter).
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

func isThrottling(code string) bool {
	return code == "Throttling" || strings.HasPrefix(code, "Throttling.")
}

// classify turns what the SDK returned into an *Error.
func classify(action string, err error) *Error {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		e := &Error{
			Action:     action,
			Code:       se.ErrorCode(),
			Message:    se.Message(),
			RequestID:  se.RequestId(),
			HTTPStatus: se.HttpStatus(),
		}
		if e.Code == "" {
			e.Code = "HTTP" + strconv.Itoa(e.HTTPStatus)
			e.Message = ""
		}
		switch {
		case isThrottling(e.Code):
			e.Kind = Throttled
			e.RetryAfter = retryAfter(se.RespHeaders)
		case e.HTTPStatus >= 500 || transientCodes[e.Code]:
			e.Kind = Transient
		default:
			e.Kind = Permanent
		}
		return e
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		// A client error before anything was sent (bad parameters) is
		// permanent; timeouts and transport failures are not.
		var ne net.Error
		if ce.ErrorCode() == sdkerrors.TimeoutErrorCode || errors.As(ce.OriginError(), &ne) {
			return &Error{Action: action, Kind: Transient, Code: "Transport", Message: ce.OriginError().Error()}
		}
		return &Error{Action: action, Kind: Permanent, Code: ce.ErrorCode(), Message: ce.Message()}
	}
	// Anything else from the HTTP client: connection refused or reset, EOF.
	return &Error{Action: action, Kind: Transient, Code: "Transport", Message: err.Error()}
}

// retryAfter reads "Limit:1,Remain:0,TimeLeft:2000,Reset:1234" (TimeLeft in
// milliseconds) from the throttling headers.
func retryAfter(h map[string][]string) time.Duration {
	for name, vals := range h {
		n := strings.ToLower(name)
		if n != "x-ratelimit-user-api" && n != "x-ratelimit-user" {
			continue
		}
		for _, v := range vals {
			for _, part := range strings.Split(v, ",") {
				k, val, ok := strings.Cut(strings.TrimSpace(part), ":")
				if ok && strings.EqualFold(k, "TimeLeft") {
					if ms, err := strconv.Atoi(strings.TrimSpace(val)); err == nil && ms >= 0 {
						return time.Duration(ms) * time.Millisecond
					}
				}
			}
		}
	}
	return 0
}

// Retryable reports whether the same call may succeed later.
func (e *Error) Retryable() bool { return e.Kind != Permanent }

// APICode is the API's error code.
func (e *Error) APICode() string { return e.Code }

// APIMessage is the API's error message.
func (e *Error) APIMessage() string { return e.Message }

// APIRequestID is the API's request id, for support tickets.
func (e *Error) APIRequestID() string { return e.RequestID }
