package queue

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/redact"
)

// NATS defaults.
const (
	// DefaultSubjectPrefix is prepended to the event type to form the subject.
	DefaultSubjectPrefix = "vpngw"
	// DefaultStream is the JetStream stream that captures <prefix>.>.
	DefaultStream = "VPNGW"
	// DefaultDuplicateWindow is how long JetStream remembers a Nats-Msg-Id.
	// It must outlast the longest time an outbox may keep retrying one event
	// after the broker stored it but before the ack reached the publisher.
	DefaultDuplicateWindow = 2 * time.Hour
	// defaultConnectTimeout bounds one dial when ctx allows longer.
	defaultConnectTimeout = 5 * time.Second
)

func init() {
	Register("nats", openNATS)
	Register("tls", openNATS)
}

// natsConfig is what a nats:// URL says.
type natsConfig struct {
	server         string // scheme://host:port, no credentials
	user, password string
	token          string
	credsFile      string
	caFile         string
	prefix         string
	stream         string
	streamGiven    bool
	create         bool
	duplicates     time.Duration
	replicas       int
	connectTimeout time.Duration
	name           string
}

func parseNATSURL(u *url.URL) (natsConfig, error) {
	c := natsConfig{
		prefix:         DefaultSubjectPrefix,
		stream:         DefaultStream,
		duplicates:     DefaultDuplicateWindow,
		replicas:       1,
		connectTimeout: defaultConnectTimeout,
		name:           "vpngw",
	}
	if u.Opaque != "" || u.Host == "" {
		return c, errors.New("NATS URL needs a host, as in nats://127.0.0.1:4222")
	}
	host := u.Host
	if u.Port() == "" {
		host += ":4222"
	}
	c.server = strings.ToLower(u.Scheme) + "://" + host
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			c.user, c.password = u.User.Username(), pw
		} else {
			c.token = u.User.Username()
		}
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		c.prefix = p
	}
	if strings.ContainsAny(c.prefix, "*> /\t") || slices.Contains(strings.Split(c.prefix, "."), "") {
		return c, fmt.Errorf("subject prefix %q must be dot-separated tokens without wildcards or blanks", c.prefix)
	}
	q := u.Query()
	if err := queryParams(q, "stream", "create", "duplicates", "replicas", "connect_timeout", "name", "creds", "ca_file"); err != nil {
		return c, err
	}
	if v := q.Get("stream"); v != "" {
		if strings.ContainsAny(v, ".*> /\\\t") {
			return c, fmt.Errorf("stream name %q must not contain '.', '*', '>', '/', '\\' or blanks", v)
		}
		c.stream, c.streamGiven = v, true
	}
	var err error
	if c.create, err = boolParam(q, "create", true); err != nil {
		return c, err
	}
	if c.duplicates, err = durationParam(q, "duplicates", c.duplicates, "2h"); err != nil {
		return c, err
	}
	if v := q.Get("replicas"); v != "" {
		if c.replicas, err = strconv.Atoi(v); err != nil || c.replicas < 1 || c.replicas > 5 {
			return c, fmt.Errorf("query parameter replicas=%q is not a number from 1 to 5", v)
		}
	}
	if c.connectTimeout, err = durationParam(q, "connect_timeout", c.connectTimeout, "5s"); err != nil {
		return c, err
	}
	if v := q.Get("name"); v != "" {
		c.name = v
	}
	c.credsFile = q.Get("creds")
	c.caFile = q.Get("ca_file")
	return c, nil
}

// NATSPublisher publishes to a JetStream stream. It connects on the first
// Publish, lets the NATS client reconnect in the background after a lost
// connection, and dials afresh if the client gave up. While disconnected a
// Publish fails at once instead of buffering, because an unacknowledged
// message stays in the outbox and is retried anyway.
type NATSPublisher struct {
	cfg natsConfig
	sem semaphore
	// Guarded by sem.
	nc      *nats.Conn
	js      jetstream.JetStream
	ensured bool // the stream is known to exist on this connection
	closed  bool

	lostMu sync.Mutex
	lost   chan struct{} // closed when the connection drops, then replaced
}

var _ Publisher = (*NATSPublisher)(nil)

func openNATS(_ context.Context, u *url.URL) (Publisher, error) {
	cfg, err := parseNATSURL(u)
	if err != nil {
		return nil, err
	}
	return &NATSPublisher{cfg: cfg, sem: newSemaphore(), lost: make(chan struct{})}, nil
}

// Subject returns the subject an event of type eventType is published on.
func (p *NATSPublisher) Subject(eventType string) string {
	return p.cfg.prefix + "." + eventType
}

// Stream returns the name of the stream the publisher expects its messages in.
func (p *NATSPublisher) Stream() string { return p.cfg.stream }

// Publish sends m on <prefix>.<type> with Nats-Msg-Id = m.ID and waits for
// JetStream's PubAck. A PubAck that reports a duplicate is success: the
// stream already holds the event.
func (p *NATSPublisher) Publish(ctx context.Context, m outgoing.Event) error {
	if err := checkPublish(ctx, m); err != nil {
		return err
	}
	lost := p.lostSignal()
	js, err := p.session(ctx)
	if err != nil {
		return fmt.Errorf("publish %s: %w", m.ID, err)
	}
	// A request already sent when the connection drops is never answered;
	// stop waiting for its PubAck then rather than when ctx ends.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-pctx.Done():
		}
	}()
	_, err = js.PublishMsg(pctx, p.natsMsg(m), p.publishOpts(m)...)
	if errors.Is(err, jetstream.ErrNoStreamResponse) && p.cfg.create {
		// Nothing captured the subject: the stream was deleted, or a server
		// came back without it. Create it again and retry once.
		if js, err = p.reensure(pctx); err == nil {
			_, err = js.PublishMsg(pctx, p.natsMsg(m), p.publishOpts(m)...)
		}
	}
	switch {
	case err == nil:
	case ctx.Err() == nil && pctx.Err() != nil:
		err = errors.New("connection lost before the PubAck arrived; the stream may hold the message, republish it with the same id")
	case errors.Is(err, jetstream.ErrNoStreamResponse):
		err = p.noStream(ctx, js, m.Type, err)
	case errors.Is(err, nats.ErrMaxPayload):
		err = fmt.Errorf("%w: the event is %d bytes, the server's max_payload (body and headers) is %d: %w",
			ErrTooLarge, len(m.Body), p.maxPayload(ctx), err)
	case errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum):
		err = fmt.Errorf("%w: the event is %d bytes, more than stream %s's max_msg_size: %w", ErrTooLarge, len(m.Body), p.cfg.stream, err)
	case errors.Is(err, nats.ErrReconnectBufExceeded):
		// The client refuses to buffer while it reconnects (see connect).
		err = fmt.Errorf("not connected, the client is reconnecting: %w", err)
	}
	if err != nil {
		return redact.Error(fmt.Errorf("publish %s to NATS subject %s: %w", m.ID, p.Subject(m.Type), err), p.secrets()...)
	}
	return nil
}

// noStream explains a publish no stream answered. JetStream is asked which
// stream captures the subject: when it answers none, while the publisher's
// stream exists, the operator's stream leaves this event type out, and every
// message of the type is refused the same way (ErrUnroutable, so the outbox
// sets it aside and goes on with the next). When the publisher's own stream
// is missing, or JetStream does not answer, or a stream does capture the
// subject (a leader election, say), the refusal is for now only.
func (p *NATSPublisher) noStream(ctx context.Context, js jetstream.JetStream, eventType string, err error) error {
	subject := p.Subject(eventType)
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	name, qerr := js.StreamNameBySubject(qctx, subject)
	switch {
	case qerr == nil:
		return fmt.Errorf("stream %s captures the subject but did not answer: %w", name, err)
	case !errors.Is(qerr, jetstream.ErrStreamNotFound):
		return fmt.Errorf("no stream answered, and JetStream did not say which stream captures the subject (%v): %w", qerr, err)
	}
	if _, serr := js.Stream(qctx, p.cfg.stream); serr != nil {
		if p.cfg.create {
			return fmt.Errorf("stream %s is missing and could not be created: %w", p.cfg.stream, err)
		}
		return fmt.Errorf("no JetStream stream captures the subject (create stream %s, or drop create=false to let vpngw create it): %w", p.cfg.stream, err)
	}
	return fmt.Errorf("%w: no JetStream stream captures subject %s; add %s (or %s.>) to stream %s's subjects to publish %s events: %w",
		ErrUnroutable, subject, subject, p.cfg.prefix, p.cfg.stream, eventType, err)
}

// maxPayload is the server's max_payload as the connection last learnt it,
// 0 when not connected.
func (p *NATSPublisher) maxPayload(ctx context.Context) int64 {
	if err := p.sem.lock(ctx); err != nil {
		return 0
	}
	defer p.sem.unlock()
	if p.nc == nil {
		return 0
	}
	return p.nc.MaxPayload()
}

// lostSignal returns a channel closed when the current connection drops.
func (p *NATSPublisher) lostSignal() <-chan struct{} {
	p.lostMu.Lock()
	defer p.lostMu.Unlock()
	return p.lost
}

// connectionLost runs on the NATS client's callback goroutine.
func (p *NATSPublisher) connectionLost() {
	p.lostMu.Lock()
	defer p.lostMu.Unlock()
	close(p.lost)
	p.lost = make(chan struct{})
}

func (p *NATSPublisher) natsMsg(m outgoing.Event) *nats.Msg {
	msg := nats.NewMsg(p.Subject(m.Type))
	msg.Header.Set("Content-Type", ContentType)
	msg.Data = m.Body
	return msg
}

func (p *NATSPublisher) publishOpts(m outgoing.Event) []jetstream.PublishOpt {
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(m.ID)}
	if p.cfg.create || p.cfg.streamGiven {
		// Dedup only works inside one stream; insist the ack comes from it.
		opts = append(opts, jetstream.WithExpectStream(p.cfg.stream))
	}
	return opts
}

// session returns a JetStream context on a live connection, dialling and
// ensuring the stream when needed.
func (p *NATSPublisher) session(ctx context.Context) (jetstream.JetStream, error) {
	if err := p.sem.lock(ctx); err != nil {
		return nil, err
	}
	defer p.sem.unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if p.nc == nil || p.nc.IsClosed() {
		nc, err := runCtx(ctx, func() (*nats.Conn, error) { return p.connect(ctx) }, (*nats.Conn).Close)
		if err != nil {
			return nil, redact.Error(fmt.Errorf("connect to NATS at %s: %w", p.cfg.server, err), p.secrets()...)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("JetStream on %s: %w", p.cfg.server, err)
		}
		p.nc, p.js, p.ensured = nc, js, false
	}
	if p.cfg.create && !p.ensured {
		if err := p.ensureStream(ctx); err != nil {
			return nil, err
		}
		p.ensured = true
	}
	return p.js, nil
}

func (p *NATSPublisher) reensure(ctx context.Context) (jetstream.JetStream, error) {
	if err := p.sem.lock(ctx); err != nil {
		return nil, err
	}
	p.ensured = false
	p.sem.unlock()
	return p.session(ctx)
}

func (p *NATSPublisher) connect(ctx context.Context) (*nats.Conn, error) {
	timeout := p.cfg.connectTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	opts := []nats.Option{
		nats.Name(p.cfg.name),
		nats.Timeout(timeout),
		// Keep reconnecting in the background for as long as the publisher
		// lives; each Publish meanwhile fails fast (no reconnect buffer), so
		// the outbox drain decides when to try again.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1),
		// A frozen serverless instance wakes up to a possibly dead socket;
		// frequent pings notice it within seconds.
		nats.PingInterval(20 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.NoCallbacksAfterClientClose(),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { p.connectionLost() }),
	}
	switch {
	case p.cfg.user != "":
		opts = append(opts, nats.UserInfo(p.cfg.user, p.cfg.password))
	case p.cfg.token != "":
		opts = append(opts, nats.Token(p.cfg.token))
	}
	if p.cfg.credsFile != "" {
		opts = append(opts, nats.UserCredentials(p.cfg.credsFile))
	}
	if p.cfg.caFile != "" {
		opts = append(opts, nats.RootCAs(p.cfg.caFile))
	}
	if strings.HasPrefix(p.cfg.server, "tls://") {
		opts = append(opts, nats.Secure())
	}
	return nats.Connect(p.cfg.server, opts...)
}

// ensureStream creates the stream, or adds the publisher's subjects to an
// existing one and widens its duplicate window. Other settings an operator
// chose (retention, limits, replicas) are left alone.
func (p *NATSPublisher) ensureStream(ctx context.Context) error {
	subject := p.cfg.prefix + ".>"
	s, err := p.js.Stream(ctx, p.cfg.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = p.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        p.cfg.stream,
			Description: "vpngw outcome events",
			Subjects:    []string{subject},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Duplicates:  p.cfg.duplicates,
			Replicas:    p.cfg.replicas,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			// Another instance created it meanwhile; check it below.
			s, err = p.js.Stream(ctx, p.cfg.stream)
		} else if err != nil {
			return fmt.Errorf("create JetStream stream %s for %s: %w", p.cfg.stream, subject, err)
		} else {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("look up JetStream stream %s: %w", p.cfg.stream, err)
	}
	cfg := s.CachedInfo().Config
	changed := false
	if !slices.Contains(cfg.Subjects, subject) {
		cfg.Subjects = append(cfg.Subjects, subject)
		changed = true
	}
	want := p.cfg.duplicates
	if cfg.MaxAge > 0 && cfg.MaxAge < want {
		want = cfg.MaxAge // the server refuses a window longer than the age limit
	}
	if cfg.Duplicates < want {
		cfg.Duplicates = want
		changed = true
	}
	if !changed {
		return nil
	}
	if _, err := p.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("update JetStream stream %s to capture %s with a %s duplicate window: %w", p.cfg.stream, subject, want, err)
	}
	return nil
}

func (p *NATSPublisher) secrets() []string {
	return []string{p.cfg.password, p.cfg.token}
}

// Close closes the connection. Publish afterwards returns ErrClosed. Close
// waits for a Publish that is connecting.
func (p *NATSPublisher) Close() error {
	return p.sem.closeOnce(&p.closed, func() error {
		if p.nc != nil {
			p.nc.Close()
			p.nc, p.js = nil, nil
		}
		return nil
	})
}
