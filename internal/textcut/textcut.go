// Package textcut cuts a string to a number of bytes without splitting a
// character, for every place that bounds a text: a store column, an event
// attribute, an outcome's strings, a problem's echo of a value. It imports
// only the standard library, so every package of vpngw, the event contract
// included, may import it.
package textcut

import "unicode/utf8"

// Ellipsis is what Clip puts at the end of a string it cut.
const Ellipsis = "…"

// Cut returns the longest prefix of s of at most n bytes that does not end
// inside a character: s itself when it fits, "" when n is not positive.
// Bytes that start no character (invalid UTF-8) are cut like the tail of a
// character.
func Cut(s string, n int) string {
	n = max(n, 0)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Clip returns s when it fits n bytes, and otherwise s cut as Cut does and
// followed by Ellipsis, the two together at most n bytes (Ellipsis alone
// when n is shorter than it).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n-len(Ellipsis)) + Ellipsis
}
