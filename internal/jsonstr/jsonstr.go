// Package jsonstr reads JSON string literals that need no unescaping
// without encoding/json's reflection: the attribute and parameter strings of
// a request are almost always of that kind, and each json.Unmarshal into a
// string costs a scan of the value, a decoder and an allocation more than
// the string itself.
package jsonstr

import "unicode/utf8"

// Unquote returns the value of the JSON string literal raw when raw is one
// that encoding/json would decode to exactly its inner bytes: quoted, with
// no backslash, no control character and valid UTF-8 inside. ok is false
// for anything else (escapes, invalid UTF-8, not a string, surrounding
// white space), which the caller then decodes with encoding/json as before.
func Unquote(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	ascii := true
	for _, c := range in {
		switch {
		case c < 0x20, c == '"', c == '\\':
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(in) {
		// encoding/json replaces each invalid byte with U+FFFD.
		return "", false
	}
	return string(in), true
}
