package redact

import (
	"net/url"
	"slices"
	"strings"
)

// Mask is what stands in for a secret.
const Mask = "xxxxx"

// Forms returns s as written and as a message may quote it after escaping
// or decoding it for a URL: query-escaped, path-escaped, escaped as userinfo
// and path-unescaped. It returns nil for an empty s.
func Forms(s string) []string {
	if s == "" {
		return nil
	}
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s), url.UserPassword("", s).String()[1:]}
	if dec, err := url.PathUnescape(s); err == nil {
		forms = append(forms, dec)
	}
	return forms
}

// minLen is the shortest form String masks: masking every "a" in a message
// hides more than it protects.
const minLen = 3

// String returns msg with every form (Forms) of every secret replaced by
// Mask. Longer forms go first, so an escaped form is masked whole before a
// shorter form inside it; forms shorter than 3 bytes are left alone.
func String(msg string, secrets ...string) string {
	var forms []string
	for _, s := range secrets {
		forms = append(forms, Forms(s)...)
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, f := range forms {
		if len(f) >= minLen {
			msg = strings.ReplaceAll(msg, f, Mask)
		}
	}
	return msg
}

// Error returns err with its message passed through String. The result
// still unwraps to err, so errors.Is and errors.As see what err holds. When
// the message holds no secret, or err is nil, it returns err itself.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := String(msg, secrets...)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// redactedError is an error whose text had a secret taken out.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
