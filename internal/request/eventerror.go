package request

import (
	"strings"

	"github.com/vpngw/vpngw/events"
)

// EventError says why one event (its CloudEvents envelope, not its data) is
// malformed: every problem found, one per attribute, in a fixed order (required attributes, then optional ones, then
// data, then extensions by name).
type EventError struct {
	Problems []events.FieldError
}

func (e *EventError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	return "invalid CloudEvent: " + strings.Join(msgs, "; ")
}

// FieldErrors returns the problems.
func (e *EventError) FieldErrors() []events.FieldError { return e.Problems }
