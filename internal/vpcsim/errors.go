package vpcsim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ErrGatewayNotFound is returned by the admin methods for an unknown gateway ID.
var ErrGatewayNotFound = errors.New("vpcsim: gateway not found")

// ErrAccessKeyNotFound is returned by the admin methods for an unknown key.
var ErrAccessKeyNotFound = errors.New("vpcsim: access key not found")

// apiError is an error answer of the API: an HTTP status and the Code and
// Message of the error body, plus headers some errors carry (throttling).
type apiError struct {
	status  int
	code    string
	message string
	header  http.Header
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newAPIError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// Error codes and messages follow the VPC API reference and the gateway's
// common error codes; where the reference gives no code for a check, the
// emulator uses the generic InvalidParameter family with a message naming
// the parameter, so that clients treat it as a permanent client error.

func errMissingCommon(name string) *apiError {
	return newAPIError(http.StatusBadRequest, "MissingParameter",
		fmt.Sprintf("The input parameter %q that is mandatory for processing this request is not supplied.", name))
}

// errMissing is the gateway's per-parameter form, such as MissingRegionId.
func errMissing(name string) *apiError {
	return newAPIError(http.StatusBadRequest, "Missing"+name, name+" is mandatory for this action.")
}

func errInvalidParam(name, detail string) *apiError {
	msg := fmt.Sprintf("The specified parameter %q is not valid.", name)
	if detail != "" {
		msg += " " + detail
	}
	return newAPIError(http.StatusBadRequest, "InvalidParameter", msg)
}

func errMalformed(detail string) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidParameter", "The request is not well formed: "+detail)
}

func errDuplicateParam(name string) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidParameter",
		fmt.Sprintf("The parameter %q is given more than once.", name))
}

func errActionNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidAction.NotFound",
		"Specified api is not found, please check your url and method.")
}

func errInvalidVersion() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid.")
}

func errSignatureMismatch(serverStringToSign string) *apiError {
	// The real gateway echoes its string to sign so that the SDK can tell a
	// wrong secret from a signing bug; it contains no secret.
	return newAPIError(http.StatusBadRequest, "SignatureDoesNotMatch",
		"Specified signature is not matched with our calculation. server string to sign is:"+serverStringToSign)
}

func errIncompleteSignature(detail string) *apiError {
	return newAPIError(http.StatusBadRequest, "IncompleteSignature",
		"The request signature does not conform to Aliyun standards. "+detail)
}

func errSignatureMethod() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method is not supported.")
}

func errSignatureVersion() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidSignatureVersion", "Specified signature version is not supported.")
}

func errAccessKeyNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
}

func errAccessKeyInactive() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
}

func errForbiddenRAM() *apiError {
	return newAPIError(http.StatusForbidden, "Forbidden.RAM",
		"User not authorized to operate on the specified resource, or this API doesn't support RAM.")
}

func errMissingSecurityToken() *apiError {
	return newAPIError(http.StatusBadRequest, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
}

func errTokenMismatch() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey",
		"Specified SecurityToken mismatch with the AccessKey.")
}

func errTokenExpired() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
}

func errTimestampFormat() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidTimeStamp.Format",
		"Specified time stamp or date value is not well formatted.")
}

func errTimestampExpired() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidTimeStamp.Expired",
		"Specified time stamp or date value is expired.")
}

func errNonceUsed() *apiError {
	return newAPIError(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
}

// errThrottled is Throttling.User with the throttling headers the
// service's gateway sends: x-ratelimit-user-api (the limit, nothing
// remaining, the milliseconds until the window resets and the reset time in
// Unix seconds), which the classic core SDK and most clients read, and
// x-acs-retry-after (milliseconds), which the Tea-generation core reads.
// headers picks which of them are sent. speed is how many times faster
// than the wall clock the service clock runs: the wait is said in
// wall-clock time, which is what a client waits on, rounded up to the
// millisecond, so that it is never said to end before the window does
// (TimeLeft:0 while the window still counts).
func errThrottled(headers ThrottleHeaders, speed int, limit int, now, reset time.Time) *apiError {
	e := newAPIError(http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
	per := int64(time.Millisecond) * int64(max(speed, 1)) // a wall-clock millisecond on the service clock
	left := max((int64(reset.Sub(now))+per-1)/per, 0)
	e.header = http.Header{}
	if headers != RetryAfterHeaderOnly {
		e.header.Set("x-ratelimit-user-api", "Limit:"+strconv.Itoa(limit)+",Remain:0,TimeLeft:"+
			strconv.FormatInt(left, 10)+",Reset:"+strconv.FormatInt(reset.Unix(), 10))
	}
	if headers != RateLimitHeaderOnly {
		e.header.Set("x-acs-retry-after", strconv.FormatInt(left, 10))
	}
	return e
}

func errInternal() *apiError {
	return newAPIError(http.StatusInternalServerError, "InternalError",
		"The request processing has failed due to some unknown error, exception or failure.")
}

func errUnavailable() *apiError {
	return newAPIError(http.StatusServiceUnavailable, "ServiceUnavailable",
		"The request has failed due to a temporary failure of the server.")
}

func errRegionNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidRegionId.NotFound",
		"The specified region is not found during access authentication.")
}

func errVPCNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidVpcId.NotFound", "Specified VPC does not exist.")
}

// errVSwitchNotFound is also what the real service answers, with HTTP 400,
// when a dual-tunnel region's second vSwitch is left out (seen in
// terraform-provider-alicloud issue #6804).
func errVSwitchNotFound() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidVSwitchId.NotFound", "The specified vswitchId is not found.")
}

func errQuotaFull() *apiError {
	return newAPIError(http.StatusBadRequest, "Resource.QuotaFull", "The quota of resource is full")
}

func errSSLNotSupported() *apiError {
	return newAPIError(http.StatusBadRequest, "OperationFailed.SslNotSupport",
		"Enable ssl vpn with private networkType is unsupported.")
}

func errTagNum() *apiError {
	return newAPIError(http.StatusBadRequest, "SizeLimitExceeded.TagNum", "The maximum number of tags is exceeded.")
}

func errTagKey() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidParameter.TagKey", "The specified parameter TagKey is invalid.")
}

func errTagValue() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidParameter.TagValue", "The specified parameter TagValue is invalid.")
}

func errTagKeyDuplicated() *apiError {
	return newAPIError(http.StatusBadRequest, "Duplicated.TagKey", "The specified parameter TagKey is duplicated.")
}

func errIdempotentMismatch() *apiError {
	return newAPIError(http.StatusBadRequest, "IdempotentParameterMismatch",
		"Request uses a client token in a previous request but is not identical to that request.")
}

func errGatewayNotFound() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidVpnGatewayInstanceId.NotFound",
		"The specified vpn gateway instance id does not exist.")
}

// errDependencyVpnConnection is DeleteVpnGateway's refusal of a gateway
// with IPsec-VPN connections attached (the API reference's error table).
func errDependencyVpnConnection() *apiError {
	return newAPIError(http.StatusBadRequest, "DependencyViolation.VpnConnection",
		"There are vpn connections on specified vpn gateway not deleted.")
}

// errChargeTypeViolation refuses to release a subscription gateway before it
// expires. The VPN gateway reference lists no code for it; this is the code
// the other VPC and ECS release calls answer for a subscription resource.
func errChargeTypeViolation() *apiError {
	return newAPIError(http.StatusBadRequest, "ChargeTypeViolation",
		"The operation is not permitted due to the charge type of the instance: a subscription (PREPAY) VPN gateway cannot be released before it expires.")
}

func errGatewayConfiguring() *apiError {
	return newAPIError(http.StatusBadRequest, "VpnGateway.Configuring", "The specified service is configuring.")
}

func errInvalidName() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidName",
		"The name is not valid: 2 to 100 characters, starting with a letter, of letters, digits, '_', '-' and '.'.")
}
