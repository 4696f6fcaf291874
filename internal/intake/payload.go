package intake

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/vpngw/vpngw/internal/jsonread"
)

// utf8BOM is skipped at the start of a payload or body: RFC 8259 lets a
// parser ignore it, and encoding/json would otherwise reject the whole
// delivery over three invisible bytes.
var utf8BOM = []byte("\xef\xbb\xbf")

// FromPayload parses a Function Compute event invocation payload: a structured
// CloudEvent JSON object as EventBridge delivers it (event-driven), a JSON
// array of such objects (event-streaming), or a JSON array of strings each
// holding one escaped CloudEvent JSON (event-streaming from a Kafka source).
// A single object may also be an Amazon EventBridge event as AWS Lambda
// receives it: its detail-type is read as the type, its detail as the data.
//
// It returns one Item per event, in delivery order, or an *Error when the
// payload as a whole cannot be read. An empty array gives no items and no
// error.
func FromPayload(payload []byte) ([]Item, error) {
	body := bytes.TrimSpace(bytes.TrimPrefix(payload, utf8BOM))
	if len(body) == 0 {
		return nil, errorf(Malformed, "payload is empty; want a CloudEvent JSON object or a JSON array of them")
	}
	switch body[0] {
	case '{':
		if jsonread.ValidObject(body) {
			// Read in place: the members' values alias the payload, as
			// the item's Raw does.
			m := make(map[string]json.RawMessage)
			jsonread.Members(body, func(name, raw []byte) { m[string(name)] = raw })
			return []Item{withRaw(anyObject(m, 0), body)}, nil
		}
		if err := validJSON("payload", body); err != nil {
			return nil, err
		}
		return []Item{withRaw(parseAnyObject(body, 0), body)}, nil
	case '[':
		return parseArray("payload", body, true)
	}
	if err := validJSON("payload", body); err != nil {
		return nil, err
	}
	return nil, errorf(Malformed, fmt.Sprintf("payload is %s; want a CloudEvent JSON object or a JSON array of them", describeJSON(body)))
}

// validJSON returns a Malformed error when body is not one JSON value.
func validJSON(what string, body []byte) error {
	if json.Valid(body) {
		return nil
	}
	return errorf(Malformed, fmt.Sprintf("%s is %s", what, describeJSON(body)))
}

// parseArray reads a JSON array of events. Strings holding events are
// accepted only when allowStrings is true (Kafka-sourced event-streaming); the
// HTTP batch format allows objects only.
func parseArray(what string, body []byte, allowStrings bool) ([]Item, error) {
	if err := validJSON(what, body); err != nil {
		return nil, err
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, errorf(Malformed, fmt.Sprintf("%s is %s", what, describeJSON(body)))
	}
	// The body is already bounded (maxBody over HTTP, the invocation limit on
	// Function Compute), so decoding before counting costs little.
	if len(elems) > MaxBatch {
		return nil, errorf(TooLarge, fmt.Sprintf("%s holds %d events; at most %d are accepted in one delivery", what, len(elems), MaxBatch))
	}
	items := make([]Item, 0, len(elems))
	for i, raw := range elems {
		items = append(items, withRaw(parseElement(raw, i, allowStrings), raw))
	}
	return items, nil
}

// parseElement reads one element of a batch.
func parseElement(raw json.RawMessage, index int, allowStrings bool) Item {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' && allowStrings {
		var s string
		_ = json.Unmarshal(raw, &s) // cannot fail: raw is a valid JSON string
		inner := bytes.TrimSpace([]byte(s))
		if len(inner) == 0 || inner[0] != '{' || !json.Valid(inner) {
			var p problems
			p.add("event", "", "a CloudEvent JSON object, or a string holding one",
				"event %d: a string holding %s; want a string holding a CloudEvent JSON object", index, describeJSON(inner))
			return Item{Index: index, Err: p.err()}
		}
		return parseObject(inner, index)
	}
	if len(raw) == 0 || raw[0] != '{' {
		allowed := "a CloudEvent JSON object"
		if allowStrings {
			allowed += ", or a string holding one"
		}
		var p problems
		p.add("event", "", allowed, "event %d: %s; want %s", index, describeJSON(raw), allowed)
		return Item{Index: index, Err: p.err()}
	}
	return parseObject(raw, index)
}
