package events

import (
	"encoding/json"
	"unicode/utf8"
)

// MaxOutcomeBytes bounds every outcome event vpngw emits, the CloudEvent
// envelope included: 256 KiB, a quarter of the smallest default payload
// limit of the brokers vpngw publishes to (NATS's max_payload, 1 MiB), so an
// outcome is never refused for its size by a broker left at its defaults.
// Failed.Bounded and BatchCompleted.Bounded keep the outcomes with lists
// under it; the others hold only bounded values.
const MaxOutcomeBytes = 256 << 10

// MaxErrors bounds Failed.Errors; Failed.ErrorsOmitted counts the rest.
const MaxErrors = 50

// Limits, in bytes, on the strings of an outcome with a list. JSON may
// spell a byte in up to six (a control character as \u0000), so the
// worst case of every member together stays under MaxOutcomeBytes:
// identity 3 × 2 KiB and a message of 4 KiB (60 KiB escaped), a few short
// values, and a list of at most maxListBytes as encoded.
const (
	maxShortText   = 256       // codes, ids, a field's name and value
	maxFieldText   = 1024      // a field error's Allowed and Message, a failed item's Reason
	maxRefText     = 2 << 10   // each of RequestRef's Source, Id and Subject
	maxMessageText = 4 << 10   // Failed.Message
	maxListBytes   = 160 << 10 // Errors or FailedItems, as encoded
)

// clipText returns s cut to at most n bytes at a character boundary, ending
// in "…" when cut.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	n -= len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ellipsis
}

// encodedLen is the length of v in JSON.
func encodedLen(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0 // plain structs of strings and numbers always encode
	}
	return len(b)
}

// bounded returns r with each member cut to maxRefText. A request's own
// source and id are far shorter (intake and the store refuse longer ones);
// the cut only keeps a pathological one from growing an outcome.
func (r RequestRef) bounded() RequestRef {
	r.Source = clipText(r.Source, maxRefText)
	r.Id = clipText(r.Id, maxRefText)
	r.Subject = clipText(r.Subject, maxRefText)
	return r
}
