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
	// Operator: the API refused the caller's credentials or permissions (a
	// deleted, disabled or rotated key, an expired token, a RAM policy that
	// does not grant the action). The request is not at fault and the same
	// call succeeds once the operator fixes the account, so it is kept and
	// retried, but not within the call: nothing changes until someone acts.
	Operator
)

func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Throttled:
		return "throttled"
	case Operator:
		return "operator"
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
	// Unsent says that the call was never sent: the client-side rate limit
	// had no start for it before the caller's deadline.
	Unsent bool
}

// NotSent says that nothing reached the API (see Unsent).
func (e *Error) NotSent() bool { return e.Unsent }

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
// ServiceUnavailable), DeleteVpnGateway's reference (VpnGateway.Configuring)
// and the SDK's throttling codes.
var transientCodes = map[string]bool{
	"ServiceUnavailable":         true,
	"InternalError":              true,
	"UnknownError":               true,
	"OperationConflict":          true,
	"LastTokenProcessing":        true,
	"IncorrectVpcStatus":         true,
	"IncorrectStatus.VpnGateway": true,
	"TaskConflict":               true,
	// DeleteVpnGateway's "the gateway is being set up or changed; try
	// again later" (its reference's error table).
	"VpnGateway.Configuring": true,
}

// ThrottlingCode reports whether code is one of the API's throttling codes.
func ThrottlingCode(code string) bool {
	return code == "Throttling" || strings.HasPrefix(code, "Throttling.")
}

// QuotaHint names the account quota behind a quota code and how to raise
// it, or "" for any other code. The API's own message ("The quota of
// resource is full") names neither.
func QuotaHint(code string) string {
	switch code {
	case "Resource.QuotaFull", "QuotaExceeded.VpnGateway", "QuotaExceeded":
		return "The account's quota vpn_quota_instances_num (VPN gateways; 30 by default) is reached: delete gateways no longer used, or raise the quota in Quota Center (VPN Gateway, vpn_quota_instances_num), then send the request again."
	}
	return ""
}

// OperatorCode reports whether code, answered with HTTP status (0: not
// known), says that the caller's credentials or permissions are wrong: the
// operator's fault, not the request's. The Forbidden family also holds codes
// about the request itself (Forbidden.TagKey.Duplicated, HTTP 400;
// Forbidden.InstanceNotFound, 404), so a Forbidden* code counts only with
// the 401 or 403 that permission refusals carry, or when no status is known.
func OperatorCode(code string, status int) bool {
	switch {
	case credentialCodes[code],
		strings.HasPrefix(code, "InvalidAccessKeyId."),
		strings.HasPrefix(code, "InvalidSecurityToken."):
		return true
	case code == "Forbidden" || strings.HasPrefix(code, "Forbidden.") ||
		code == "NoPermission" || strings.HasPrefix(code, "NoPermission.") ||
		code == "ActionUnauthorized":
		return status == 0 || status == 401 || status == 403
	}
	return false
}

// credentialCodes are the gateway's answers to a request signed with the
// wrong key, secret or token (the common error codes of the POP gateway).
var credentialCodes = map[string]bool{
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"MissingSecurityToken":  true,
	"InvalidSecurityToken":  true,
	"MissingCredentials":    true, // no key at all: set by the client before any call
}

// OperatorFix says, for an operator fault, what the operator must change,
// without any secret; "" for every other error. Logs carry it at error
// level, since nothing gets better until someone acts.
func (e *Error) OperatorFix() string {
	if e.Kind != Operator {
		return ""
	}
	switch {
	case e.Code == "MissingCredentials":
		return "no access key is configured: run the function with a role (Function Compute hands its STS credentials to every invocation) or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	case e.Code == "InvalidAccessKeyId.Inactive":
		return "the access key is disabled: enable it in the RAM console, or configure an active key"
	case strings.HasPrefix(e.Code, "InvalidAccessKeyId"):
		return "the access key does not exist (deleted or rotated): configure the current key (ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET, or the function's role)"
	case e.Code == "SignatureDoesNotMatch":
		return "the access key secret does not match the key (rotated, or mistyped): set ALIBABA_CLOUD_ACCESS_KEY_SECRET to the key's current secret"
	case strings.Contains(e.Code, "SecurityToken"):
		return "the STS token is missing, expired or belongs to another key: check the function's role and that each invocation's credentials reach the call"
	default:
		return fmt.Sprintf("the RAM identity may not call %s: attach deploy/ram-policy.json (it grants %s) to the function's role or the key's user", e.Action, e.Action)
	}
}

// Retryable reports whether the same call may succeed later.
func (e *Error) Retryable() bool { return e.Kind != Permanent }

// APICode is the API's error code.
func (e *Error) APICode() string { return e.Code }

// APIMessage is the API's error message.
func (e *Error) APIMessage() string { return e.Message }

// APIRequestID is the API's request id, for support tickets.
func (e *Error) APIRequestID() string { return e.RequestID }
