// Package redact keeps passwords and tokens out of error messages: it
// replaces every way a message may spell a secret (as written, URL-escaped,
// URL-decoded) with a mask, and keeps the error's chain for errors.Is and
// errors.As. The adapters that hold a connection password (queue, sqlstore)
// pass their errors through it before anyone can log them. It imports only
// the standard library.
package redact
