package events

import "github.com/vpngw/vpngw/internal/textcut"

// Failed is the data of io.vpngw.gateway.failed: the request will not produce
// a gateway. Stage says where it stopped; Code is vpngw's own (Code*) or the
// API's error code.
//
// Errors holds at most MaxErrors rules, in the order they were found;
// ErrorsOmitted counts those left out, so that no failed event outgrows
// MaxOutcomeBytes however many rules a request breaks (see Bounded).
type Failed struct {
	Request       RequestRef   `json:"Request"`
	Stage         string       `json:"Stage"`
	Code          string       `json:"Code"`
	Message       string       `json:"Message"`
	Errors        []FieldError `json:"Errors,omitempty"`
	ErrorsOmitted int          `json:"ErrorsOmitted,omitempty"`
	RequestId     string       `json:"RequestId,omitempty"`
	VpnGatewayId  string       `json:"VpnGatewayId,omitempty"`
	RegionId      string       `json:"RegionId,omitempty"`
}

// Stages at which a request can fail.
const (
	StageValidation   = "validation"
	StagePolicy       = "policy"
	StageCreate       = "create"
	StageProvisioning = "provisioning"
)

// Codes of failures that vpngw itself decides (API failures carry the API's code).
const (
	CodeInvalidRequest  = "InvalidRequest"
	CodePolicyDenied    = "PolicyDenied"
	CodeTimeout         = "Timeout"
	CodeNotFound        = "NotFound"
	CodeFinancialLocked = "FinancialLocked"
	// CodeCancelled: an operator cancelled the request before anything
	// was created for it (vpngwctl requests cancel).
	CodeCancelled = "Cancelled"
)

// FieldError is one rule a request broke: the parameter (as the API names it;
// Tags[i].Key for a tag), the value given, what is allowed, and a sentence
// for people.
type FieldError struct {
	Field   string `json:"Field"`
	Value   string `json:"Value,omitempty"`
	Allowed string `json:"Allowed,omitempty"`
	Message string `json:"Message"`
}

// Bounded returns f cut down to fit MaxOutcomeBytes: the first MaxErrors
// errors at most (fewer if their text is very long), ErrorsOmitted counting
// the rest, and every string no longer than its own limit (a cut string ends
// in "…"). A Failed that fits is returned as it is.
func (f Failed) Bounded() Failed {
	f.Request = f.Request.bounded()
	clipEach(maxShortText, &f.Stage, &f.Code, &f.RequestId, &f.VpnGatewayId, &f.RegionId)
	f.Message = textcut.Clip(f.Message, maxMessageText)
	var omitted int
	f.Errors, omitted = boundList(f.Errors, MaxErrors, func(e FieldError) FieldError {
		return FieldError{
			Field:   textcut.Clip(e.Field, maxShortText),
			Value:   textcut.Clip(e.Value, maxShortText),
			Allowed: textcut.Clip(e.Allowed, maxFieldText),
			Message: textcut.Clip(e.Message, maxFieldText),
		}
	})
	f.ErrorsOmitted += omitted
	return f
}

// boundList keeps the first most items, each cut by clip, as long as their
// encoded size stays within maxListBytes, and returns them with the number
// left out. An empty list comes back nil.
func boundList[T any](items []T, most int, clip func(T) T) ([]T, int) {
	if len(items) == 0 {
		return nil, 0
	}
	kept := make([]T, 0, min(len(items), most))
	budget := maxListBytes
	for _, it := range items {
		if len(kept) == most {
			break
		}
		it = clip(it)
		if budget -= encodedLen(it) + 1; budget < 0 {
			break
		}
		kept = append(kept, it)
	}
	return kept, len(items) - len(kept)
}
