package request

import (
	"strconv"
	"strings"

	"github.com/vpngw/vpngw/events"
)

// Error carries every violation of one request. It is a permanent failure:
// the same data will never become valid, so a caller records and announces it
// rather than retrying.
type Error struct {
	Errors []events.FieldError
}

// Error lists every violation's message; each message names its parameter.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("invalid gateway request")
	switch n := len(e.Errors); n {
	case 0:
		return b.String()
	case 1:
		b.WriteString(": ")
	default:
		b.WriteString(" (" + strconv.Itoa(n) + " problems): ")
	}
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Message)
	}
	return b.String()
}

// Parse decodes data (Decode) and validates the result (Validate), returning
// *Error with every problem when anything is wrong.
//
// When the data cannot be read as an object at all, only that is reported.
// Otherwise both kinds are reported together, except that a parameter whose
// value could not be decoded is not also reported as missing. The request is
// returned even on error, holding what could be decoded (a rejection can
// still name its region); it must not be used to call the API then.
func Parse(data []byte) (events.GatewayRequest, error) {
	r, errs := Decode(data)
	for _, fe := range errs {
		if fe.Field == DataField {
			return r, &Error{Errors: errs}
		}
	}
	decodeErrs := len(errs)
	for _, fe := range Validate(r) {
		if !reported(errs[:decodeErrs], fe.Field) {
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		return r, &Error{Errors: errs}
	}
	return r, nil
}

// reported reports whether errs already cover field: the field itself, or
// the element it belongs to (Tags[1] covers Tags[1].Key).
func reported(errs []events.FieldError, field string) bool {
	for _, fe := range errs {
		if fe.Field == field || strings.HasPrefix(field, fe.Field+".") {
			return true
		}
	}
	return false
}
