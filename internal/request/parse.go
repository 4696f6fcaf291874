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
// *Error with every problem when anything is wrong, up to MaxFieldErrors and
// a count of the rest.
//
// When the data cannot be read as an object at all, only that is reported.
// Otherwise both kinds are reported together, except that a parameter whose
// value could not be decoded is not also reported as missing. The request is
// returned even on error, holding what could be decoded (a rejection can
// still name its region); it must not be used to call the API then.
//
// The work is linear in the size of data: problems past the cap are counted,
// not described, and the check for problems already reported is a set
// lookup per field.
func Parse(data []byte) (events.GatewayRequest, error) {
	r, err, _ := parse(data)
	if err != nil {
		return r, err
	}
	return r, nil
}

// parse is Parse; probes counts the lookups that merge the decoding and the
// validation problems, so that a test can check that the merge is linear.
func parse(data []byte) (r events.GatewayRequest, err *Error, probes int) {
	r, decoded, fatal := decode(data)
	if fatal {
		return r, &Error{Errors: decoded.list()}, 0
	}
	seen := fieldSet{set: decoded.fields()}
	validated := validate(r)
	all := &errorList{errs: decoded.errs, omitted: decoded.omitted}
	for _, fe := range validated.errs {
		if !seen.covers(fe.Field) {
			all.put(fe)
		}
	}
	for _, f := range validated.omitted {
		if !seen.covers(f) {
			all.omit(f)
		}
	}
	if errs := all.list(); len(errs) > 0 {
		return r, &Error{Errors: errs}, seen.probes
	}
	return r, nil, seen.probes
}

// fieldSet is the fields with a decoding problem.
type fieldSet struct {
	set    map[string]bool
	probes int
}

// covers reports whether a problem with field is already among the decoding
// problems: the field itself, or the element it belongs to (Tags[1] covers
// Tags[1].Key).
func (s *fieldSet) covers(field string) bool {
	for {
		s.probes++
		if s.set[field] {
			return true
		}
		i := strings.LastIndexByte(field, '.')
		if i < 0 {
			return false
		}
		field = field[:i]
	}
}

// MaxFieldErrors is how many problems of one request are described; the
// rest are counted in one more FieldError. A request with thousands of
// unknown members or bad tags is refused at the cost of fifty, and its
// failed event, log lines and HTTP answer stay small.
const MaxFieldErrors = 50

// OmittedErrors is the FieldError that stands for n problems left out of a
// list capped at MaxFieldErrors; field names what they are about.
func OmittedErrors(field string, n int) events.FieldError {
	return events.FieldError{
		Field:   field,
		Value:   strconv.Itoa(n),
		Allowed: omittedAllowed,
		Message: strconv.Itoa(n) + " more problems not listed; only the first " + strconv.Itoa(MaxFieldErrors) + " are described",
	}
}

// omittedAllowed marks the FieldError OmittedErrors makes.
var omittedAllowed = "at most " + strconv.Itoa(MaxFieldErrors) + " problems are listed"

// SplitOmitted takes the FieldError OmittedErrors made off the end of errs:
// the problems described, and how many more there were. An event counts
// the others in its own field (events.Failed.ErrorsOmitted) rather than as
// an error.
func SplitOmitted(errs []events.FieldError) ([]events.FieldError, int) {
	if n := len(errs); n > 0 && errs[n-1].Allowed == omittedAllowed {
		if k, err := strconv.Atoi(errs[n-1].Value); err == nil {
			return errs[:n-1], k
		}
	}
	return errs, 0
}

// errorList collects FieldErrors, describing the first MaxFieldErrors and
// keeping only the field of the others.
type errorList struct {
	errs    []events.FieldError
	omitted []string
}

// full reports whether another problem would only be counted; a caller
// checks it before building an expensive FieldError.
func (l *errorList) full() bool { return len(l.errs) >= MaxFieldErrors }

func (l *errorList) put(fe events.FieldError) {
	if l.full() {
		l.omit(fe.Field)
		return
	}
	l.errs = append(l.errs, fe)
}

// omit counts a problem with field without describing it.
func (l *errorList) omit(field string) { l.omitted = append(l.omitted, field) }

// addFirst puts fe first, making room when the list is full: the problem
// that ended decoding is always described.
func (l *errorList) addFirst(fe events.FieldError) {
	if l.full() {
		last := l.errs[len(l.errs)-1]
		l.errs = l.errs[:len(l.errs)-1]
		l.omit(last.Field)
	}
	l.errs = append([]events.FieldError{fe}, l.errs...)
}

// fields returns the set of fields with a problem, described or not.
func (l *errorList) fields() map[string]bool {
	set := make(map[string]bool, len(l.errs)+len(l.omitted))
	for _, fe := range l.errs {
		set[fe.Field] = true
	}
	for _, f := range l.omitted {
		set[f] = true
	}
	return set
}

// list is the problems as reported: those described, then the count of
// the others.
func (l *errorList) list() []events.FieldError {
	if len(l.omitted) == 0 {
		return l.errs
	}
	return append(l.errs[:len(l.errs):len(l.errs)], OmittedErrors(DataField, len(l.omitted)))
}
