// Package jsonread reads JSON text that is known to be valid in place,
// without encoding/json's reflection and decoders: the members of an object
// (an event's attributes, a request's parameters) and string literals that
// need no unescaping, which the attribute and parameter strings of a request
// almost always are. Each json.Unmarshal into a string costs a scan of the
// value, a decoder and an allocation more than the string itself, and
// json.Decoder's Token and Decode allocate a syntax error at the end of
// every string and number they read (the scanner's look past a top-level
// value).
package jsonread

import (
	"encoding/json"
	"unicode/utf8"
)

// Unquote returns the value of the JSON string literal raw when raw is one
// that encoding/json would decode to exactly its inner bytes: quoted, with
// no backslash, no control character and valid UTF-8 inside. ok is false
// for anything else (escapes, invalid UTF-8, not a string, surrounding
// white space), which the caller then decodes with encoding/json as before.
func Unquote(raw []byte) (s string, ok bool) {
	in, ok := unquoted(raw)
	if !ok {
		return "", false
	}
	return string(in), true
}

// unquoted is Unquote's value as a slice of raw.
func unquoted(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	in := raw[1 : len(raw)-1]
	ascii := true
	for _, c := range in {
		switch {
		case c < 0x20, c == '"', c == '\\':
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(in) {
		// encoding/json replaces each invalid byte with U+FFFD.
		return nil, false
	}
	return in, true
}

// ValidObject reports whether data is valid JSON whose value is an object.
func ValidObject(data []byte) bool {
	i := skipSpace(data, 0)
	return i < len(data) && data[i] == '{' && json.Valid(data)
}

// Members calls fn with each member of the object data, in order, for data
// that ValidObject accepted: name as json.Decoder's Token gives it
// (unescaped, as json.Unmarshal would), raw as Decode into a
// json.RawMessage gives it (the value's bytes, without the white space
// around them). Both alias data (name only while fn runs), with no room to
// append into them: a caller that keeps name copies it (string(name)).
func Members(data []byte, fn func(name, raw []byte)) {
	i := skipSpace(data, 0) + 1 // past '{'
	for {
		i = skipSpace(data, i)
		switch data[i] {
		case '}':
			return
		case ',':
			i = skipSpace(data, i+1)
		}
		end := valueEnd(data, i)
		nameRaw := data[i:end]
		name, ok := unquoted(nameRaw)
		if !ok {
			var s string
			_ = json.Unmarshal(nameRaw, &s) // cannot fail: a name of valid JSON
			name = []byte(s)
		}
		i = skipSpace(data, end) + 1 // past ':'
		i = skipSpace(data, i)
		end = valueEnd(data, i)
		fn(name[:len(name):len(name)], data[i:end:end])
		i = end
	}
}

// Elements calls fn with each element of the JSON array raw, in order, as
// json.Unmarshal into []json.RawMessage gives them, for raw that is valid
// JSON and starts with '['. Each element aliases raw.
func Elements(raw []byte, fn func(elem []byte)) {
	i := 1 // past '['
	for {
		i = skipSpace(raw, i)
		switch raw[i] {
		case ']':
			return
		case ',':
			i = skipSpace(raw, i+1)
		}
		end := valueEnd(raw, i)
		fn(raw[i:end:end])
		i = end
	}
}

// skipSpace returns the index of the first byte of data at or after i that
// is not JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at
// data[i], in data that is valid JSON.
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = stringEnd(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	// A number, true, false or null.
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string that starts at
// data[i] (its opening quote), in data that is valid JSON.
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++ // the escaped byte (a \u escape goes on in hex digits)
		case '"':
			return i + 1
		}
	}
	return i
}
