package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/redact"
)

// AMQP defaults.
const (
	// DefaultExchange is the exchange events go to when the URL names none.
	DefaultExchange = "vpngw"
	// DefaultExchangeType lets consumers bind by event type with wildcards,
	// e.g. io.vpngw.gateway.*.
	DefaultExchangeType = "topic"
	// returnBuffer holds basic.return frames until Publish reads them. Publish
	// drains it every call, so it only has to hold the returns of publishes
	// that gave up waiting for their confirm.
	returnBuffer = 64
)

func init() {
	Register("amqp", openAMQP)
	Register("amqps", openAMQP)
}

// amqpClientParams are query parameters amqp091-go itself understands; they
// are passed through to it.
var amqpClientParams = []string{"heartbeat", "connection_timeout", "channel_max", "certfile", "keyfile", "cacertfile", "server_name_indication", "auth_mechanism"}

// amqpConfig is what an amqp:// URL says.
type amqpConfig struct {
	dialURL        string // the URL amqp091-go dials: ours minus our own parameters
	redacted       string // for messages
	password       string
	exchange       string
	kind           string
	declare        bool
	mandatory      bool
	connectTimeout time.Duration
	name           string
}

func parseAMQPURL(u *url.URL) (amqpConfig, error) {
	c := amqpConfig{
		exchange:       DefaultExchange,
		kind:           DefaultExchangeType,
		connectTimeout: defaultConnectTimeout,
		name:           "vpngw",
		redacted:       u.Redacted(),
	}
	if u.Opaque != "" || u.Host == "" {
		return c, errors.New("AMQP URL needs a host, as in amqp://user:pass@127.0.0.1:5672/vhost")
	}
	if u.User != nil {
		c.password, _ = u.User.Password()
	}
	q := u.Query()
	if err := queryParams(q, append([]string{"exchange", "exchange_type", "declare", "mandatory", "name"}, amqpClientParams...)...); err != nil {
		return c, err
	}
	if q.Has("exchange") {
		// An empty name is the default exchange, which routes by queue name.
		c.exchange = q.Get("exchange")
	}
	if v := q.Get("exchange_type"); v != "" {
		if !slices.Contains([]string{"topic", "direct", "fanout", "headers"}, v) {
			return c, fmt.Errorf("query parameter exchange_type=%q is not topic, direct, fanout or headers", v)
		}
		c.kind = v
	}
	var err error
	if c.declare, err = boolParam(q, "declare", true); err != nil {
		return c, err
	}
	if c.mandatory, err = boolParam(q, "mandatory", true); err != nil {
		return c, err
	}
	if v := q.Get("name"); v != "" {
		c.name = v
	}
	if v := q.Get("connection_timeout"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return c, fmt.Errorf("query parameter connection_timeout=%q is not a positive number of milliseconds", v)
		}
		c.connectTimeout = time.Duration(ms) * time.Millisecond
	}
	d := *u
	pass := url.Values{}
	for _, k := range amqpClientParams {
		if q.Has(k) {
			pass[k] = q[k]
		}
	}
	d.RawQuery = pass.Encode()
	c.dialURL = d.String()
	if _, err := amqp.ParseURI(c.dialURL); err != nil {
		return c, err
	}
	return c, nil
}

// AMQPPublisher publishes to an exchange over AMQP 0-9-1 with publisher
// confirms. Messages are persistent, carry the CloudEvent id as message id
// and the event type as routing key and type. It connects on the first
// Publish and, after the broker closed the connection or channel (a restart,
// a channel error), connects again on the next one.
//
// By default messages are mandatory: when no queue is bound for a routing key
// the broker returns the message and Publish fails with ErrUnroutable (a
// refusal, ErrRefused) instead of reporting success for an event nobody will
// ever see; the outbox parks it in the store, where an operator can see and
// replay it. Add mandatory=false to the URL when dropping events without
// subscribers is intended.
type AMQPPublisher struct {
	cfg amqpConfig
	sem semaphore
	// Guarded by sem.
	s      *amqpSession
	closed bool
}

var _ Publisher = (*AMQPPublisher)(nil)

type amqpSession struct {
	conn    *amqp.Connection
	ch      *amqp.Channel
	returns chan amqp.Return
	closes  chan *amqp.Error
}

func openAMQP(_ context.Context, u *url.URL) (Publisher, error) {
	cfg, err := parseAMQPURL(u)
	if err != nil {
		return nil, err
	}
	return &AMQPPublisher{cfg: cfg, sem: newSemaphore()}, nil
}

// Exchange returns the exchange the publisher sends to.
func (p *AMQPPublisher) Exchange() string { return p.cfg.exchange }

// Publish sends m with routing key m.Type and waits for the broker's confirm.
// A nack, a return of the mandatory message, or a channel closed before the
// confirm are errors; after any of them Publish may be retried with m.
func (p *AMQPPublisher) Publish(ctx context.Context, m outgoing.Event) error {
	if err := checkPublish(ctx, m); err != nil {
		return err
	}
	if err := p.sem.lock(ctx); err != nil {
		return fmt.Errorf("publish %s: %w", m.ID, err)
	}
	defer p.sem.unlock()
	if p.closed {
		return fmt.Errorf("publish %s: %w", m.ID, ErrClosed)
	}
	err := p.publish(ctx, m)
	if err != nil && p.s != nil && p.s.broken() {
		p.reset()
	}
	return redact.Error(err, p.cfg.password)
}

// reset drops the session; the next Publish connects again. Closing the
// connection also ends a write still blocked on it.
func (p *AMQPPublisher) reset() {
	if p.s != nil {
		p.s.close()
		p.s = nil
	}
}

func (p *AMQPPublisher) publish(ctx context.Context, m outgoing.Event) error {
	if p.s == nil || p.s.broken() {
		p.reset()
		s, err := runCtx(ctx, func() (*amqpSession, error) { return p.connect(ctx) }, (*amqpSession).close)
		if err != nil {
			return fmt.Errorf("publish %s: connect to %s: %w", m.ID, p.cfg.redacted, err)
		}
		p.s = s
	}
	s := p.s
	s.dropReturns()
	msg := amqp.Publishing{
		ContentType:  ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    m.ID,
		Type:         m.Type,
		Timestamp:    time.Now().UTC(),
		AppId:        "vpngw",
		Body:         m.Body,
	}
	// The frames are written synchronously, and a broker under a resource
	// alarm stops reading them; write in a goroutine so ctx still rules.
	type sent struct {
		dc  *amqp.DeferredConfirmation
		err error
	}
	done := make(chan sent, 1)
	go func() {
		dc, err := s.ch.PublishWithDeferredConfirm(p.cfg.exchange, m.Type, p.cfg.mandatory, false, msg)
		done <- sent{dc, err}
	}()
	var dc *amqp.DeferredConfirmation
	select {
	case r := <-done:
		if r.err != nil {
			return fmt.Errorf("publish %s to exchange %q: %w", m.ID, p.cfg.exchange, r.err)
		}
		dc = r.dc
	case <-ctx.Done():
		p.reset()
		return fmt.Errorf("publish %s to exchange %q: sending: %w", m.ID, p.cfg.exchange, ctx.Err())
	}
	select {
	case <-dc.Done():
	case <-ctx.Done():
		// A connection that cannot confirm within ctx is suspect (a
		// serverless instance thawed onto a dead socket, a blocked broker):
		// start the next attempt on a fresh one.
		p.reset()
		return fmt.Errorf("publish %s to exchange %q: waiting for the broker's confirm: %w", m.ID, p.cfg.exchange, ctx.Err())
	}
	acked := dc.Acked()
	if !acked {
		if s.broken() {
			// amqp091 nacks pending confirms when the channel closes.
			return channelClosed(m, p.cfg.exchange, s.closeError())
		}
		return fmt.Errorf("publish %s to exchange %q: %w", m.ID, p.cfg.exchange, ErrNacked)
	}
	// The broker sends basic.return before the ack of the same message and
	// amqp091 hands both over in order, so a return is already buffered.
	if r, ok := s.takeReturn(m.ID); ok {
		return fmt.Errorf("publish %s to exchange %q with routing key %q: %w (%d %s): bind a queue to the exchange with %q, or with %q for every event type",
			m.ID, p.cfg.exchange, m.Type, ErrUnroutable, r.ReplyCode, r.ReplyText, m.Type, bindAll(m.Type))
	}
	return nil
}

// bindAll is the topic binding that takes every event type sharing the
// first two words of eventType: io.vpngw.# for vpngw's own.
func bindAll(eventType string) string {
	words := strings.SplitN(eventType, ".", 3)
	if len(words) < 3 {
		return "#"
	}
	return words[0] + "." + words[1] + ".#"
}

func (p *AMQPPublisher) connect(ctx context.Context) (*amqpSession, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(p.cfg.name)
	conn, err := amqp.DialConfig(p.cfg.dialURL, amqp.Config{
		Properties: props,
		Heartbeat:  10 * time.Second,
		Dial:       contextDialer(ctx, p.cfg.connectTimeout),
	})
	if err != nil {
		return nil, err
	}
	s := &amqpSession{conn: conn}
	if s.ch, err = conn.Channel(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := s.ch.Confirm(false); err != nil {
		conn.Close()
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	if p.cfg.declare && p.cfg.exchange != "" {
		if err := s.ch.ExchangeDeclare(p.cfg.exchange, p.cfg.kind, true, false, false, false, nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("declare durable %s exchange %q (add declare=false to use an existing exchange as it is): %w", p.cfg.kind, p.cfg.exchange, err)
		}
	}
	s.returns = s.ch.NotifyReturn(make(chan amqp.Return, returnBuffer))
	s.closes = s.ch.NotifyClose(make(chan *amqp.Error, 1))
	return s, nil
}

// contextDialer dials within ctx and sets a deadline for the TLS and AMQP
// handshakes, which amqp091 clears once the connection is open.
func contextDialer(ctx context.Context, timeout time.Duration) func(network, addr string) (net.Conn, error) {
	return func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		deadline := time.Now().Add(timeout)
		if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
			deadline = dl
		}
		if err := conn.SetDeadline(deadline); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

func (s *amqpSession) broken() bool { return s.conn.IsClosed() || s.ch.IsClosed() }

func (s *amqpSession) close() {
	// Closing the connection also closes the channel; its error only says
	// it was already closed.
	_ = s.conn.Close()
}

// closeError is why the channel closed, if the broker said (nil if not).
func (s *amqpSession) closeError() *amqp.Error {
	select {
	case e, ok := <-s.closes:
		if ok && e != nil {
			return e
		}
	default:
	}
	return nil
}

// channelClosed is the error of a publish whose channel closed before the
// broker confirmed it, e the broker's reason (nil if it gave none).
// RabbitMQ closes the channel with 406 PRECONDITION_FAILED, "message size
// N is larger than configured max size M", for a message over its
// max_message_size: that refusal is for good (ErrTooLarge).
func channelClosed(m outgoing.Event, exchange string, e *amqp.Error) error {
	if e != nil && e.Code == amqp.PreconditionFailed && strings.Contains(e.Reason, "larger than configured max size") {
		return fmt.Errorf("publish %s to exchange %q: %w: the event is %d bytes, over the broker's max_message_size: %w",
			m.ID, exchange, ErrTooLarge, len(m.Body), e)
	}
	reason := "connection or channel closed"
	if e != nil {
		reason = e.Error()
	}
	return fmt.Errorf("publish %s to exchange %q: channel closed before the broker confirmed: %s", m.ID, exchange, reason)
}

// dropReturns discards returns of earlier publishes that gave up waiting.
func (s *amqpSession) dropReturns() {
	for {
		select {
		case _, ok := <-s.returns:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// takeReturn drains the buffered returns and reports the one for id.
func (s *amqpSession) takeReturn(id string) (amqp.Return, bool) {
	var found amqp.Return
	ok := false
	for {
		select {
		case r, open := <-s.returns:
			if !open {
				return found, ok
			}
			if r.MessageId == id {
				found, ok = r, true
			}
		default:
			return found, ok
		}
	}
}

// Close closes the connection. Publish afterwards returns ErrClosed. Close
// waits for a Publish in flight.
func (p *AMQPPublisher) Close() error {
	return p.sem.closeOnce(&p.closed, func() error {
		if p.s != nil {
			err := p.s.conn.Close()
			p.s = nil
			if err != nil && !errors.Is(err, amqp.ErrClosed) {
				return fmt.Errorf("close AMQP connection to %s: %w", p.cfg.redacted, err)
			}
		}
		return nil
	})
}
