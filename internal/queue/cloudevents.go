package queue

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/vpngw/vpngw/internal/outgoing"
	"slices"
	"strings"
)

// attribute is one CloudEvent context attribute as binary mode carries it:
// its name and its value in the canonical string form.
type attribute struct{ name, value string }

// binaryEvent is a structured-mode CloudEvent taken apart for a binary-mode
// binding: the attributes (without datacontenttype), the content type of
// the data, and the data itself.
type binaryEvent struct {
	attrs       []attribute // sorted by name
	contentType string
	data        []byte
}

// toBinary takes m's structured body apart. A body that is not a JSON
// object with the required attributes can never be sent in binary mode: the
// error wraps ErrInvalidMessage.
func toBinary(m outgoing.Event) (binaryEvent, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(m.Body, &fields); err != nil {
		return binaryEvent{}, fmt.Errorf("%w: event %s is not a structured CloudEvent (a JSON object): %v", ErrInvalidMessage, m.ID, err)
	}
	b := binaryEvent{contentType: "application/json"}
	for name, raw := range fields {
		switch name {
		case "data":
			b.data = []byte(raw)
			continue
		case "data_base64":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return binaryEvent{}, fmt.Errorf("%w: event %s has a data_base64 that is not a string", ErrInvalidMessage, m.ID)
			}
			d, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return binaryEvent{}, fmt.Errorf("%w: event %s has a data_base64 that is not base64", ErrInvalidMessage, m.ID)
			}
			b.data = d
			continue
		}
		v, err := attributeValue(raw)
		if err != nil {
			return binaryEvent{}, fmt.Errorf("%w: event %s attribute %s: %v", ErrInvalidMessage, m.ID, name, err)
		}
		if name == "datacontenttype" {
			b.contentType = v
			continue
		}
		b.attrs = append(b.attrs, attribute{name, v})
	}
	for _, req := range []string{"specversion", "id", "source", "type"} {
		if !slices.ContainsFunc(b.attrs, func(a attribute) bool { return a.name == req }) {
			return binaryEvent{}, fmt.Errorf("%w: event %s has no %s attribute", ErrInvalidMessage, m.ID, req)
		}
	}
	// A JSON string as data with a non-JSON content type is the text itself.
	if len(b.data) > 0 && b.data[0] == '"' && !isJSONType(b.contentType) {
		var s string
		if err := json.Unmarshal(b.data, &s); err == nil {
			b.data = []byte(s)
		}
	}
	slices.SortFunc(b.attrs, func(x, y attribute) int { return strings.Compare(x.name, y.name) })
	return b, nil
}

// attributeValue is a JSON attribute value as a string: a string as it is,
// a number or boolean as its JSON text.
func attributeValue(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch v.(type) {
	case float64, bool:
		return string(raw), nil
	}
	return "", fmt.Errorf("value %s is not a string, number or boolean", raw)
}

func isJSONType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
