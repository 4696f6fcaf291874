package vpcclient

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/vpngw/vpngw/internal/cloud"
)

// classify turns what the SDK returned into an *Error.
func classify(action string, err error) *cloud.Error {
	var own *cloud.Error
	if errors.As(err, &own) {
		// Decided before anything was sent (no credentials).
		e := *own
		e.Action = action
		return &e
	}
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		e := &cloud.Error{
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
		if hint := cloud.QuotaHint(e.Code); hint != "" {
			e.Message = strings.TrimRight(e.Message, ". ") + ". " + hint
		}
		switch {
		case cloud.ThrottlingCode(e.Code):
			e.Kind = cloud.Throttled
			e.RetryAfter = retryAfter(se.RespHeaders)
		case cloud.OperatorCode(e.Code, e.HTTPStatus):
			e.Kind = cloud.Operator
			// SignatureDoesNotMatch echoes the server's string to sign,
			// which names the key and the call's nonce: not for logs.
			if i := strings.Index(e.Message, " server string to sign is:"); i >= 0 {
				e.Message = e.Message[:i]
			}
		case e.HTTPStatus >= 500 || cloud.TransientCode(e.Code):
			e.Kind = cloud.Transient
		default:
			e.Kind = cloud.Permanent
		}
		return e
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		// A client error before anything was sent (bad parameters) is
		// permanent; timeouts and transport failures are not.
		var ne net.Error
		if ce.ErrorCode() == sdkerrors.TimeoutErrorCode || errors.As(ce.OriginError(), &ne) {
			return &cloud.Error{Action: action, Kind: cloud.Transient, Code: "Transport", Message: ce.OriginError().Error()}
		}
		return &cloud.Error{Action: action, Kind: cloud.Permanent, Code: ce.ErrorCode(), Message: ce.Message()}
	}
	// Anything else from the HTTP client: connection refused or reset, EOF.
	return &cloud.Error{Action: action, Kind: cloud.Transient, Code: "Transport", Message: err.Error()}
}

// retryAfter reads how long the API asked the caller to wait, from either
// header style the gateway sends: "Limit:1,Remain:0,TimeLeft:2000,Reset:1234"
// in x-ratelimit-user-api (or x-ratelimit-user), TimeLeft in milliseconds,
// which the classic core SDK reads; and x-acs-retry-after, milliseconds,
// which the Tea-generation core reads. When both are present the longer
// wait is taken.
func retryAfter(h map[string][]string) time.Duration {
	var wait time.Duration
	for name, vals := range h {
		switch strings.ToLower(name) {
		case "x-ratelimit-user-api", "x-ratelimit-user":
			for _, v := range vals {
				for _, part := range strings.Split(v, ",") {
					k, val, ok := strings.Cut(strings.TrimSpace(part), ":")
					if ok && strings.EqualFold(k, "TimeLeft") {
						if ms, err := strconv.Atoi(strings.TrimSpace(val)); err == nil && ms >= 0 {
							wait = max(wait, time.Duration(ms)*time.Millisecond)
						}
					}
				}
			}
		case "x-acs-retry-after":
			for _, v := range vals {
				if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ms >= 0 && ms <= maxRetryAfterMs {
					wait = max(wait, time.Duration(ms)*time.Millisecond)
				}
			}
		}
	}
	return wait
}

// maxRetryAfterMs bounds a header's wait (a day): a larger number is not a
// wait anyone meant.
const maxRetryAfterMs = 24 * 60 * 60 * 1000
