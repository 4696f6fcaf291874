package queue

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/redact"
)

// ContentType is the content type of every published message: the CloudEvent
// in structured mode.
const ContentType = "application/cloudevents+json"

// maxTypeLen bounds an event's Type so it fits an AMQP routing key (a short
// string of at most 255 bytes) and stays a sane NATS subject.
const maxTypeLen = 255

// partitionKey is m.Key, the request's identity, so that a partitioned sink
// (Kafka) keeps a request's events in order on one partition; m.ID when it
// has none.
func partitionKey(m outgoing.Event) string {
	if m.Key != "" {
		return m.Key
	}
	return m.ID
}

// Publisher publishes an event and returns only once the broker acknowledged
// it. Implementations are safe for concurrent use, return promptly once ctx is
// done, and may be called again with the same event after an error.
type Publisher interface {
	Publish(ctx context.Context, m outgoing.Event) error
	Close() error
}

// Sentinel errors a Publisher returns; test with errors.Is.
//
// A publish fails either for a while (the broker is down, slow, or out of
// resources: the same message goes through later) or for good (the broker
// refuses this message as it is, and will refuse it every time). Errors of
// the second kind match ErrRefused as well as their own sentinel, so a caller
// that keeps messages in order can set the refused one aside and go on with
// the next instead of retrying it for ever.
var (
	// ErrClosed: Publish was called after Close.
	ErrClosed = errors.New("queue: publisher is closed")
	// ErrRefused: the broker (or the publisher, on the broker's known limits)
	// refused the message for good; republishing it unchanged is refused
	// again. ErrInvalidMessage, ErrTooLarge and ErrUnroutable match it.
	ErrRefused = errors.New("queue: message refused for good")
	// ErrInvalidMessage: the message can never be published as it is (empty
	// id, type or body, or a type that is not a valid subject or routing key).
	// Retrying does not help.
	ErrInvalidMessage error = refusal("queue: invalid message")
	// ErrTooLarge: the message is larger than the broker takes (NATS
	// max_payload, 1 MiB by default, a JetStream stream's max_msg_size, or
	// RabbitMQ's max_message_size, 128 MiB by default).
	ErrTooLarge error = refusal("queue: message larger than the broker accepts")
	// ErrUnroutable: an AMQP broker returned a mandatory message because no
	// queue is bound for its routing key, or no JetStream stream captures the
	// NATS subject of its type while the publisher's stream exists. Every
	// later message of that type is refused too, until a queue is bound or
	// a stream captures it.
	ErrUnroutable error = refusal("queue: no queue bound for the message")
	// ErrNacked: the broker refused to take responsibility for the message.
	ErrNacked = errors.New("queue: broker did not accept the message")
	// ErrUnknownScheme: Open was given a URL whose scheme has no registered
	// publisher.
	ErrUnknownScheme = errors.New("queue: unknown URL scheme")
)

// refusal is a sentinel error that also matches ErrRefused.
type refusal string

func (e refusal) Error() string { return string(e) }

// Is makes every refusal match ErrRefused.
func (e refusal) Is(target error) bool { return target == ErrRefused }

// checkPublish is the first step of every Publish: m must be valid (the
// error from Validate is returned as is) and ctx not already done (its error
// is wrapped with the event's id).
func checkPublish(ctx context.Context, m outgoing.Event) error {
	if err := Validate(m); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish %s: %w", m.ID, err)
	}
	return nil
}

// Validate reports whether m can be published by every Publisher; the error
// wraps ErrInvalidMessage.
func Validate(m outgoing.Event) error {
	switch {
	case m.ID == "":
		return fmt.Errorf("%w: empty id", ErrInvalidMessage)
	case len(m.Body) == 0:
		return fmt.Errorf("%w: event %s has an empty body", ErrInvalidMessage, m.ID)
	case m.Type == "":
		return fmt.Errorf("%w: event %s has an empty type", ErrInvalidMessage, m.ID)
	case len(m.Type) > maxTypeLen:
		return fmt.Errorf("%w: event %s has a type longer than %d bytes", ErrInvalidMessage, m.ID, maxTypeLen)
	}
	// The type becomes the tail of a NATS subject and an AMQP routing key, so
	// it must not hold wildcards, blanks or empty dot-separated tokens.
	if strings.ContainsAny(m.Type, "*>") || strings.ContainsFunc(m.Type, unicode.IsSpace) ||
		strings.ContainsFunc(m.Type, unicode.IsControl) ||
		slices.Contains(strings.Split(m.Type, "."), "") {
		return fmt.Errorf("%w: event %s has type %q, which is not a valid subject token sequence", ErrInvalidMessage, m.ID, m.Type)
	}
	return nil
}

// Opener builds a Publisher from a URL whose scheme it was registered for.
// It should validate the URL and may defer connecting to the first Publish.
type Opener func(ctx context.Context, u *url.URL) (Publisher, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a publisher available to Open under a URL scheme. Like
// database/sql.Register it panics when called twice for one scheme or with a
// nil Opener, since both are programming errors found at start-up.
func Register(scheme string, open Opener) {
	scheme = strings.ToLower(scheme)
	if open == nil {
		panic("queue: Register of a nil Opener for scheme " + scheme)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("queue: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes lists the registered URL schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Open returns the Publisher for rawURL, chosen by its scheme. Opening
// validates the URL; broker publishers connect on the first Publish and
// reconnect on a later one after losing the connection, so a function can
// start while its broker is briefly away. Errors never contain the URL's
// password.
func Open(ctx context.Context, rawURL string, opts ...OpenOption) (Publisher, error) {
	var o openOptions
	for _, f := range opts {
		f(&o)
	}
	ctx = context.WithValue(ctx, openOptionsKey{}, o)
	rawURL = strings.TrimSpace(rawURL)
	secrets := rawURLSecrets(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password included, so report only
		// the inner reason next to a masked copy.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, redact.Error(fmt.Errorf("queue: parse URL %q: %v", maskUserinfo(rawURL), err), secrets...)
	}
	scheme := strings.ToLower(u.Scheme)
	registryMu.RLock()
	open := registry[scheme]
	registryMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("%w %q in %s (known: %s)", ErrUnknownScheme, u.Scheme, (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(), strings.Join(Schemes(), ", "))
	}
	p, err := open(ctx, u)
	if err != nil {
		shown := u.Redacted()
		if scheme == "http" || scheme == "https" {
			// An HTTP sink's query may hold the receiver's token.
			shown = (&url.URL{Scheme: scheme, Host: u.Host, Path: u.Path}).String()
		}
		return nil, redact.Error(fmt.Errorf("queue: open %s: %w", shown, err), slices.Concat(secrets, urlSecrets(u), redact.Forms(o.sinkSecret))...)
	}
	return p, nil
}

// urlSecrets lists the parts of u that must never reach an error: the
// password and, for a user without a password (a NATS token), the user.
func urlSecrets(u *url.URL) []string {
	if u.User == nil {
		return nil
	}
	if pw, ok := u.User.Password(); ok {
		return []string{pw}
	}
	if u.Scheme == "nats" || u.Scheme == "tls" {
		return []string{u.User.Username()}
	}
	return nil
}

// splitUserinfo cuts a raw URL that may not parse into what comes up to
// and including "://", the userinfo (up to the last '@') and the rest from
// that '@' on. ok is false when there is no "://" or no '@' after it.
func splitUserinfo(raw string) (head, userinfo, tail string, ok bool) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return "", "", "", false
	}
	rest := raw[i+3:]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return "", "", "", false
	}
	return raw[:i+3], rest[:at], rest[at:], true
}

// rawURLSecrets finds the password in a URL that may not even parse: what
// follows the first ':' of the userinfo, which ends at the last '@' (an
// unescaped '@' in a password is a common cause of a parse error).
func rawURLSecrets(raw string) []string {
	_, userinfo, _, ok := splitUserinfo(raw)
	if !ok {
		return nil
	}
	secret := userinfo
	if c := strings.Index(userinfo, ":"); c >= 0 {
		secret = userinfo[c+1:]
	}
	// An unescaped delimiter in the password makes the parser cut it up and
	// quote a piece, e.g. as an invalid port; mask every piece as well.
	pieces := strings.FieldsFunc(secret, func(r rune) bool { return strings.ContainsRune(":/?#@[]", r) })
	return append([]string{secret}, pieces...)
}

// maskUserinfo replaces the userinfo of a raw URL with redact.Mask.
func maskUserinfo(raw string) string {
	head, _, tail, ok := splitUserinfo(raw)
	if !ok {
		return raw
	}
	return head + redact.Mask + tail
}

// semaphore is a mutex whose Lock gives up when ctx is done, so a Publish
// waiting behind a slow reconnect still returns within its own deadline.
type semaphore chan struct{}

func newSemaphore() semaphore { return make(semaphore, 1) }

func (s semaphore) lock(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s semaphore) unlock() { <-s }

// closeOnce is a publisher's Close: it waits for the lock (so for a
// Publish in flight), and the first time only sets *closed and runs
// release; later calls return nil.
func (s semaphore) closeOnce(closed *bool, release func() error) error {
	s <- struct{}{}
	defer s.unlock()
	if *closed {
		return nil
	}
	*closed = true
	return release()
}

// runCtx runs fn, which cannot be interrupted, and returns its result or
// ctx.Err() if ctx ends first. A result that arrives too late is handed to
// discard so that a connection opened for nobody is closed.
func runCtx[T any](ctx context.Context, fn func() (T, error), discard func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				discard(r.v)
			}
		}()
		var zero T
		return zero, ctx.Err()
	}
}

// queryParams checks that q holds only the allowed keys, each once, so a
// misspelt option fails at start-up instead of being ignored.
func queryParams(q url.Values, allowed ...string) error {
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("unknown query parameter %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
		if len(v) > 1 {
			return fmt.Errorf("query parameter %q given %d times", k, len(v))
		}
	}
	return nil
}

// boolParam reads a true/false query parameter with a default.
func boolParam(q url.Values, key string, def bool) (bool, error) {
	v := q.Get(key)
	switch strings.ToLower(v) {
	case "":
		return def, nil
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("query parameter %s=%q is not true or false", key, v)
}

// durationParam reads a positive duration query parameter (such as example)
// with a default.
func durationParam(q url.Values, key string, def time.Duration, example string) (time.Duration, error) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("query parameter %s=%q is not a positive duration such as %s", key, v, example)
	}
	return d, nil
}

// OpenOption adds to what a URL says when Open builds a publisher.
type OpenOption func(*openOptions)

type openOptions struct {
	sinkSecret string
}

// WithSinkSecret is the secret HTTP sinks sign events with
// (VPNGW_SINK_SECRET).
func WithSinkSecret(s string) OpenOption { return func(o *openOptions) { o.sinkSecret = s } }

type openOptionsKey struct{}

// openOptionsFrom returns the options Open was given, for an Opener.
func openOptionsFrom(ctx context.Context) openOptions {
	o, _ := ctx.Value(openOptionsKey{}).(openOptions)
	return o
}
