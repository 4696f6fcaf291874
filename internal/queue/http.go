package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/redact"
	"github.com/vpngw/vpngw/internal/webhook/signing"
)

func init() {
	Register("https", openHTTP)
	Register("http", openHTTP)
}

// defaultHTTPTimeout bounds one POST when ctx allows longer.
const defaultHTTPTimeout = 10 * time.Second

// ErrRejected: an HTTP sink answered a 4xx other than 408 or 429: it will
// answer the same to the same event. It matches ErrRefused.
var ErrRejected error = refusal("queue: the sink rejected the event")

// RetryAfterError is a transient failure whose sink said when to come back
// (HTTP 429 or 503 with Retry-After). The drain leaves the sink alone until
// then.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (the sink asks to retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns how long the sink asked to be left alone.
func (e *RetryAfterError) RetryAfter() time.Duration { return e.After }

// RetryAfter returns how long err's sink asked to be left alone, and whether
// it said.
func RetryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}

// HTTPPublisher posts each event as a CloudEvent over HTTP (structured mode,
// or binary with ?mode=binary), signed as vpngw's webhook verifies: a
// receiver checks X-Vpngw-Signature with the recipe the README gives
// senders. A 2xx answer is the acknowledgement.
type HTTPPublisher struct {
	target   string // the URL posted to: ours minus our own parameters
	shown    string // scheme://host/path, for messages: no query, no user
	binary   bool
	secret   string
	hidden   []string // the secret and the receiver's query values, kept out of errors
	timeout  time.Duration
	client   *http.Client
	now      func() time.Time
	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

var _ Publisher = (*HTTPPublisher)(nil)

func openHTTP(ctx context.Context, u *url.URL) (Publisher, error) {
	o := openOptionsFrom(ctx)
	p := &HTTPPublisher{timeout: defaultHTTPTimeout, secret: o.sinkSecret, now: time.Now}
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("HTTP sink URL needs a host, as in https://receiver.example.com/hook")
	}
	if u.User != nil {
		return nil, errors.New("HTTP sink URL carries user information: the sink is authenticated by the signature (VPNGW_SINK_SECRET), put nothing before the host")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "http" && !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("http://%s is plaintext to another host: want https://, or http:// to 127.0.0.1, [::1] or localhost only (tests and make run)", u.Host)
	}
	p.shown = (&url.URL{Scheme: scheme, Host: u.Host, Path: u.Path}).String()
	q := u.Query()
	caFile := ""
	// Parameters of our own are taken out; the rest (an EventBridge
	// source's token, say) belong to the receiver and are sent as given.
	for k, vs := range q {
		switch k {
		case "mode", "timeout", "ca_file":
			if len(vs) > 1 {
				return nil, fmt.Errorf("query parameter %q given %d times", k, len(vs))
			}
		}
	}
	switch v := q.Get("mode"); v {
	case "", "structured":
	case "binary":
		p.binary = true
	default:
		return nil, fmt.Errorf("query parameter mode=%q is not structured or binary", v)
	}
	var err error
	if p.timeout, err = durationParam(q, "timeout", p.timeout, "10s"); err != nil {
		return nil, err
	}
	caFile = q.Get("ca_file")
	q.Del("mode")
	q.Del("timeout")
	q.Del("ca_file")
	target := *u
	target.Scheme = scheme
	target.RawQuery = q.Encode()
	p.target = target.String()
	p.hidden = redact.Forms(p.secret)
	for _, vs := range q {
		for _, v := range vs {
			p.hidden = append(p.hidden, redact.Forms(v)...)
		}
	}
	if p.secret == "" {
		return nil, fmt.Errorf("%s: VPNGW_SINK_SECRET is not set: an HTTP sink's events are signed, so that its receiver can tell them from anyone's", p.shown)
	}
	tc, err := tlsConfig(caFile, "")
	if err != nil {
		return nil, err
	}
	p.client = &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     tc,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		},
		// A redirect would carry a signed event to a URL the operator did
		// not name.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return p, nil
}

// loopbackHost reports whether host names this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Publish posts m and returns nil on a 2xx answer. 408, 429 and 5xx are
// transient (with RetryAfterError when the sink said when); any other 4xx
// is a refusal (ErrRejected): the same event gets the same answer.
func (p *HTTPPublisher) Publish(ctx context.Context, m outgoing.Event) error {
	if err := checkPublish(ctx, m); err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("publish %s: %w", m.ID, ErrClosed)
	}
	p.inflight.Add(1)
	p.mu.Unlock()
	defer p.inflight.Done()
	err := p.post(ctx, m)
	if err != nil {
		return redact.Error(fmt.Errorf("publish %s to %s: %w", m.ID, p.shown, err), p.hidden...)
	}
	return nil
}

func (p *HTTPPublisher) post(ctx context.Context, m outgoing.Event) error {
	body := m.Body
	header := http.Header{}
	if p.binary {
		b, err := toBinary(m)
		if err != nil {
			return err
		}
		for _, a := range b.attrs {
			header.Set("ce-"+a.name, a.value)
		}
		header.Set("Content-Type", b.contentType)
		body = b.data
	} else {
		header.Set("Content-Type", ContentType)
	}
	ts, sig := signing.Sign(p.secret, p.now(), body)
	header.Set(signing.HeaderTimestamp, ts)
	header.Set(signing.HeaderSignature, sig)
	header.Set("User-Agent", "vpngw")
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	req.Header = header
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Error quotes the whole URL, query (a token) included.
			err = ue.Err
		}
		return fmt.Errorf("no answer: %w", err)
	}
	// Read a little of the answer for the message, then let the connection go.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	answer := fmt.Sprintf("answered %s", resp.Status)
	if s := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "")); s != "" {
		answer += ": " + strings.Join(strings.Fields(s), " ")
	}
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		err := errors.New(answer)
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), p.now()); ok {
			return &RetryAfterError{After: d, Err: err}
		}
		return err
	case code >= 400:
		return fmt.Errorf("%w: %s", ErrRejected, answer)
	}
	return fmt.Errorf("%s, which is not an acknowledgement (redirects are not followed: name the final URL)", answer)
}

// maxRetryAfter caps what a sink may ask for, so that a typo on its side
// does not silence it for days.
const maxRetryAfter = time.Hour

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// Close waits for the posts under way and stops further publishing.
func (p *HTTPPublisher) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if already {
		return nil
	}
	p.inflight.Wait()
	p.client.CloseIdleConnections()
	return nil
}
