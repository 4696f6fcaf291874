package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue/kafkawire"
	"github.com/vpngw/vpngw/internal/redact"
)

func init() {
	Register("kafka", openKafka)
}

// KafkaPublisher produces each event as one Kafka record in the CloudEvents
// Kafka binding's binary mode: the attributes in ce_<name> headers, the
// data's type in content-type, the data as the value, and the request's
// identity as the key, so that a request's events stay in order on one
// partition. The producer is idempotent with acks=all: Publish returns once
// every in-sync replica has the record.
type KafkaPublisher struct {
	shown   string // kafka://brokers/topic, for messages
	secrets []string
	client  *kafkawire.Producer

	mu     sync.Mutex
	closed bool
	// pending holds the outcome of a record still in the producer, by
	// event id: a Publish that gave up waiting (its ctx ended) leaves the
	// record queued, and a retry of the same event waits for it instead of
	// producing it a second time.
	pending map[string]chan error
}

var _ Publisher = (*KafkaPublisher)(nil)

func openKafka(_ context.Context, u *url.URL) (Publisher, error) {
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("the Kafka URL needs brokers, as in kafka://broker1:9092,broker2:9092/topic")
	}
	topic := strings.Trim(u.Path, "/")
	if topic == "" || strings.ContainsAny(topic, "/ \t") || len(topic) > 249 {
		return nil, fmt.Errorf("the Kafka URL path %q must be one topic name, as in kafka://broker:9092/vpngw-outcomes", u.Path)
	}
	var brokers []string
	for b := range strings.SplitSeq(u.Host, ",") {
		if b == "" {
			return nil, fmt.Errorf("the Kafka URL host %q has an empty broker", u.Host)
		}
		if _, _, err := net.SplitHostPort(b); err != nil {
			b = net.JoinHostPort(b, "9092")
		}
		brokers = append(brokers, b)
	}
	q := u.Query()
	if err := queryParams(q, "sasl", "tls", "ca_file", "client_id", "timeout"); err != nil {
		return nil, err
	}
	p := &KafkaPublisher{
		shown:   "kafka://" + u.Host + "/" + topic,
		pending: map[string]chan error{},
	}
	cfg := kafkawire.Config{Brokers: brokers, Topic: topic, ClientID: "vpngw"}
	if v := q.Get("client_id"); v != "" {
		cfg.ClientID = v
	}
	timeout, err := durationParam(q, "timeout", kafkawire.DefaultRequestTimeout, "10s")
	if err != nil {
		return nil, err
	}
	// Produce's timeout_ms is 32 bits of milliseconds: 600h would wrap to
	// a negative wait on the wire.
	if timeout > maxKafkaTimeout {
		return nil, fmt.Errorf("query parameter timeout=%q is more than %s, the longest a Kafka sink waits for a broker", q.Get("timeout"), maxKafkaTimeout)
	}
	cfg.DialTimeout, cfg.RequestTimeout = timeout, timeout
	useTLS, err := boolParam(q, "tls", false)
	if err != nil {
		return nil, err
	}
	if q.Get("ca_file") != "" && !useTLS {
		return nil, errors.New("query parameter ca_file needs tls=true")
	}
	if useTLS {
		tc, err := tlsConfig(q.Get("ca_file"), "")
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		p.secrets = redact.Forms(pass)
	}
	mech, err := kafkaSASL(q.Get("sasl"), user, pass)
	if err != nil {
		return nil, err
	}
	cfg.SASL = mech
	if p.client, err = kafkawire.NewProducer(cfg); err != nil {
		return nil, redact.Error(fmt.Errorf("the Kafka client: %w", err), p.secrets...)
	}
	return p, nil
}

// kafkaSASL is the mechanism ?sasl= names, with the URL's user and password.
// maxKafkaTimeout is the most ?timeout= may say.
const maxKafkaTimeout = 15 * time.Minute

func kafkaSASL(name, user, pass string) (*kafkawire.SASL, error) {
	switch strings.ToLower(name) {
	case "":
		if user != "" {
			return nil, errors.New("the Kafka URL names a user but no sasl=plain, scram-sha-256 or scram-sha-512")
		}
		return nil, nil
	case "plain":
		if user == "" {
			return nil, errors.New("sasl=plain needs kafka://user:password@brokers/topic")
		}
		return &kafkawire.SASL{Mechanism: kafkawire.Plain, User: user, Password: pass}, nil
	case "scram-sha-256", "scram-sha-512":
		if user == "" {
			return nil, fmt.Errorf("sasl=%s needs kafka://user:password@brokers/topic", name)
		}
		m := kafkawire.ScramSHA512
		if strings.EqualFold(name, "scram-sha-256") {
			m = kafkawire.ScramSHA256
		}
		return &kafkawire.SASL{Mechanism: m, User: user, Password: pass}, nil
	}
	return nil, fmt.Errorf("query parameter sasl=%q is not plain, scram-sha-256 or scram-sha-512", name)
}

// Record returns the record m is produced as.
func (p *KafkaPublisher) Record(m outgoing.Event) (kafkawire.Record, error) {
	b, err := toBinary(m)
	if err != nil {
		return kafkawire.Record{}, err
	}
	r := kafkawire.Record{Key: []byte(partitionKey(m)), Value: b.data}
	for _, a := range b.attrs {
		r.Headers = append(r.Headers, kafkawire.Header{Key: "ce_" + a.name, Value: []byte(a.value)})
	}
	r.Headers = append(r.Headers, kafkawire.Header{Key: "content-type", Value: []byte(b.contentType)})
	return r, nil
}

// Publish produces m and waits for the brokers' acknowledgement.
func (p *KafkaPublisher) Publish(ctx context.Context, m outgoing.Event) error {
	if err := checkPublish(ctx, m); err != nil {
		return err
	}
	rec, err := p.Record(m)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("publish %s: %w", m.ID, ErrClosed)
	}
	done, waiting := p.pending[m.ID]
	if !waiting {
		done = make(chan error, 1)
		p.pending[m.ID] = done
	}
	p.mu.Unlock()
	if !waiting {
		// The record outlives this call's ctx: once a request carrying it
		// was sent, the producer cannot tell whether the broker wrote it
		// until an answer comes. (Produce may call done before it
		// returns, so no lock is held.)
		p.client.Produce(rec, func(err error) {
			p.mu.Lock()
			delete(p.pending, m.ID)
			p.mu.Unlock()
			done <- err
		})
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		why := ""
		if last := p.client.LastError(); last != nil {
			why = ", last: " + last.Error()
		}
		return redact.Error(fmt.Errorf("publish %s to %s: no acknowledgement yet (%w%s); the record stays with the producer and a retry waits for it", m.ID, p.shown, ctx.Err(), why), p.secrets...)
	}
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, kafkawire.ErrMessageTooLarge), errors.Is(err, kafkawire.ErrRecordListTooLarge):
		err = fmt.Errorf("%w: the event is %d bytes (%d of data in the record), more than the topic's max.message.bytes: %w", ErrTooLarge, len(m.Body), len(rec.Value), err)
	case errors.Is(err, kafkawire.ErrInvalidRecord), errors.Is(err, kafkawire.ErrCorruptMessage):
		err = fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	case errors.Is(err, kafkawire.ErrClosed):
		// Close came while the record waited (or between the check
		// above and Produce).
		err = ErrClosed
	}
	return redact.Error(fmt.Errorf("publish %s to %s: %w", m.ID, p.shown, err), p.secrets...)
}

// Close stops the producer; records not yet acknowledged are failed.
func (p *KafkaPublisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.client.Close()
	return nil
}
