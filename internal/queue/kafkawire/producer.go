package kafkawire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/pause"
)

// Config is what NewProducer needs.
type Config struct {
	Brokers  []string // host:port of at least one broker, to learn the rest from
	Topic    string
	ClientID string      // as the brokers' logs and quotas see the producer
	TLS      *tls.Config // nil: plaintext; ServerName defaults to each broker's host
	SASL     *SASL       // nil: no authentication
	// DialTimeout bounds connecting, TLS, version negotiation and SASL.
	DialTimeout time.Duration
	// RequestTimeout is how long a broker may wait for the in-sync replicas
	// (Produce's timeout_ms); the producer waits twice that for an answer
	// before it drops the connection and sends again.
	RequestTimeout time.Duration
	// MaxBatchBytes refuses, without sending, a record whose batch is
	// larger (franz-go's ProducerBatchMaxBytes, 1,000,012 by default: a
	// broker's default message.max.bytes plus the batch header).
	MaxBatchBytes int
}

// Defaults for the zero fields of Config.
const (
	DefaultDialTimeout    = 10 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxBatchBytes  = 1_000_012
	metadataMaxAge        = 5 * time.Minute
	backoffMin            = 100 * time.Millisecond
	backoffMax            = time.Second
	maxCorrupt            = 3
	// transactionTimeout is InitProducerId's transaction_timeout_ms, which
	// brokers check against transaction.max.timeout.ms even for a producer
	// that runs no transactions: Kafka's producer default.
	transactionTimeout = 60_000
)

var (
	// ErrClosed: the producer was closed before the broker acknowledged.
	ErrClosed = errors.New("kafka producer closed")
	// ErrUnsupportedBroker: a broker serves none of the versions of a
	// request this producer speaks.
	ErrUnsupportedBroker = errors.New("unsupported broker version")
)

// Producer is an idempotent Kafka producer for one topic with acks=all.
// Records go out one at a time, in the order Produce was called, each as
// its own batch on the partition its key hashes to; a batch that fails
// for a while (a leader moving, a broker down, no answer) is sent again
// unchanged, with the same producer id, epoch and sequence number, so the
// broker writes it once. It connects on the first record and reconnects
// as needed.
type Producer struct {
	cfg    Config
	ctx    context.Context // ends at Close: stops the worker, closes connections
	cancel context.CancelFunc
	done   chan struct{} // closed when the worker has returned

	mu      sync.Mutex
	queue   []pending
	wake    chan struct{}
	lastErr error

	// The worker's own state.
	seeds    []string
	nextSeed int
	conns    map[string]*conn // by address
	brokers  map[int32]string // node id → address, from Metadata
	leaders  []int32          // by partition; -1 while it has none
	metaAt   time.Time
	ps       producerState   // id and epoch; the sequences are in seqs
	seqs     map[int32]int32 // by partition: the next batch's first sequence
	haveID   bool
}

type pending struct {
	rec  Record
	at   int64 // create time, Unix milliseconds
	done func(error)
}

// NewProducer checks cfg and starts the producer; nothing is dialled until
// the first Produce.
func NewProducer(cfg Config) (*Producer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka producer: no brokers")
	}
	if cfg.Topic == "" {
		return nil, errors.New("kafka producer: no topic")
	}
	if cfg.SASL != nil {
		switch cfg.SASL.Mechanism {
		case Plain, ScramSHA256, ScramSHA512:
		default:
			return nil, fmt.Errorf("kafka producer: SASL mechanism %q is not %s, %s or %s", cfg.SASL.Mechanism, Plain, ScramSHA256, ScramSHA512)
		}
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	p := &Producer{
		cfg:   cfg,
		done:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
		seeds: cfg.Brokers,
		conns: map[string]*conn{},
		seqs:  map[int32]int32{},
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.run()
	return p, nil
}

// Produce queues rec and calls done once with its outcome: nil when every
// in-sync replica has it, ErrClosed when Close came first, or the error
// that refused it. A record keeps being sent while its failure is
// retriable, however long that takes; LastError says why it is waiting.
// done runs on the producer's goroutine and must not block.
func (p *Producer) Produce(rec Record, done func(error)) {
	p.mu.Lock()
	select {
	case <-p.ctx.Done():
		p.mu.Unlock()
		done(ErrClosed)
		return
	default:
	}
	p.queue = append(p.queue, pending{rec: rec, at: time.Now().UnixMilli(), done: done})
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// LastError is the most recent retriable failure of the record being sent,
// nil once it is acknowledged.
func (p *Producer) LastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

func (p *Producer) setLastError(err error) {
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

// Close fails every record not yet acknowledged with ErrClosed and closes
// the connections. A record already sent may still be written by the
// broker.
func (p *Producer) Close() {
	p.cancel()
	<-p.done
}

// run sends the queue's records in order until Close.
func (p *Producer) run() {
	defer func() {
		for _, c := range p.conns {
			c.close()
		}
		p.mu.Lock()
		q := p.queue
		p.queue = nil
		p.mu.Unlock()
		for _, r := range q {
			r.done(ErrClosed)
		}
		close(p.done)
	}()
	for {
		p.mu.Lock()
		var head *pending
		if len(p.queue) > 0 {
			h := p.queue[0]
			head = &h
		}
		p.mu.Unlock()
		if head == nil {
			select {
			case <-p.wake:
				continue
			case <-p.ctx.Done():
				return
			}
		}
		err := p.deliver(head)
		if errors.Is(err, ErrClosed) {
			return // the deferred function fails it with the rest
		}
		p.mu.Lock()
		p.queue[0] = pending{} // the record's bytes are garbage now
		p.queue = p.queue[1:]
		p.lastErr = nil
		p.mu.Unlock()
		head.done(err)
	}
}

// deliver sends r until the broker acknowledges it, refuses it, or the
// producer is closed.
func (p *Producer) deliver(r *pending) error {
	var (
		partition int32
		batch     []byte // built once, then resent byte for byte
		ambiguous bool   // a send failed in a way that may have written it
		corrupt   int    // CORRUPT_MESSAGE answers to this batch
	)
	for attempt := 0; ; attempt++ {
		if attempt > 0 && pause.For(p.ctx, backoff(attempt)) != nil {
			return ErrClosed
		}
		if err := p.ctx.Err(); err != nil {
			return ErrClosed
		}
		if err := p.prepare(); err != nil {
			if p.ctx.Err() != nil {
				return ErrClosed
			}
			if retriable(err) {
				p.setLastError(err)
				continue
			}
			return err
		}
		if batch == nil {
			partition = partitionFor(r.rec.Key, len(p.leaders))
			ps := p.ps
			ps.sequence = p.seqs[partition]
			batch = appendBatch(nil, ps, r.at, []Record{r.rec})
			if len(batch) > p.cfg.MaxBatchBytes {
				return fmt.Errorf("the record's batch is %d bytes, more than the producer's limit of %d: %w", len(batch), p.cfg.MaxBatchBytes, ErrMessageTooLarge)
			}
		}
		err := p.produce(partition, batch)
		if p.ctx.Err() != nil {
			return ErrClosed
		}
		var ce *connError
		if errors.As(err, &ce) {
			ambiguous = true
		}
		switch {
		case err == nil, errors.Is(err, errDuplicateSequence):
			// A duplicate: an earlier send of this very batch was written.
			// Sequences wrap from the largest int32 to 0, as Kafka's do.
			p.seqs[partition] = int32(uint32(p.seqs[partition]+1) & 0x7fffffff)
			return nil
		case errors.Is(err, errOutOfOrderSequence), errors.Is(err, errUnknownProducerID), errors.Is(err, errInvalidProducerEpoch):
			// The broker lost this producer's state (its records expired,
			// or a leader changed before it had them): start again with a
			// new producer id, every partition's sequence at 0.
			p.setLastError(err)
			p.haveID = false
			batch = nil
			continue
		case errors.Is(err, ErrCorruptMessage) && corrupt < maxCorrupt:
			// Retriable for bytes damaged on the way; a batch the broker
			// keeps finding corrupt is refused, not retried for ever.
			corrupt++
			p.setLastError(err)
			continue
		case retriable(err) && !errors.Is(err, ErrCorruptMessage):
			p.setLastError(err)
			p.metaAt = time.Time{} // the leader may have moved
			continue
		}
		if ambiguous {
			// An earlier send may have been written under this sequence:
			// the next record must not reuse it, or the broker would
			// take it for that duplicate.
			p.haveID = false
		}
		return err
	}
}

// prepare makes sure the producer has fresh metadata for its topic and a
// producer id.
func (p *Producer) prepare() error {
	if time.Since(p.metaAt) > metadataMaxAge || len(p.leaders) == 0 {
		if err := p.metadata(); err != nil {
			return err
		}
	}
	if !p.haveID {
		return p.initProducerID()
	}
	return nil
}

// backoff grows from 100 ms to 1 s, with jitter so that many producers do
// not come back in step.
func backoff(attempt int) time.Duration {
	d := backoffMin << min(attempt-1, 4)
	d = min(d, backoffMax)
	return d/2 + rand.N(d/2+1)
}

// connTo returns the connection to addr, dialling it if needed.
func (p *Producer) connTo(addr string) (*conn, error) {
	if c := p.conns[addr]; c != nil {
		return c, nil
	}
	c, err := dial(p.ctx, &p.cfg, addr)
	if err != nil {
		return nil, err
	}
	p.conns[addr] = c
	return c, nil
}

// drop closes the connection to addr after a failure on it.
func (p *Producer) drop(addr string) {
	if c := p.conns[addr]; c != nil {
		c.close()
		delete(p.conns, addr)
	}
}

// anyBroker sends a request to some broker: one already connected, else the
// seeds in turn, so a dead seed is not tried first every time.
func (p *Producer) anyBroker(key int16, body func(version int16) []byte, deadline time.Time) ([]byte, int16, error) {
	for _, c := range p.conns {
		v := c.versions[key]
		resp, err := c.roundTrip(key, body(v), deadline)
		if err != nil {
			p.drop(c.addr)
		}
		return resp, v, err
	}
	addr := p.seeds[p.nextSeed%len(p.seeds)]
	p.nextSeed++
	c, err := p.connTo(addr)
	if err != nil {
		return nil, 0, err
	}
	v := c.versions[key]
	resp, err := c.roundTrip(key, body(v), deadline)
	if err != nil {
		p.drop(addr)
	}
	return resp, v, err
}

// metadata learns the brokers and the topic's partition leaders (Metadata
// v4 to v8, without creating the topic).
func (p *Producer) metadata() error {
	resp, v, err := p.anyBroker(keyMetadata, func(v int16) []byte {
		b := appendInt32(nil, 1)
		b = appendString(b, p.cfg.Topic)
		b = appendBool(b, false) // allow_auto_topic_creation: the operator creates topics
		if v >= 8 {
			b = appendBool(b, false) // include_cluster_authorized_operations
			b = appendBool(b, false) // include_topic_authorized_operations
		}
		return b
	}, time.Now().Add(2*p.cfg.RequestTimeout))
	if err != nil {
		return err
	}
	m, err := decodeMetadata(resp, v)
	if err != nil {
		return fmt.Errorf("the Metadata response: %w", err)
	}
	var t *topicMetadata
	for i := range m.topics {
		if m.topics[i].name == p.cfg.Topic {
			t = &m.topics[i]
		}
	}
	if t == nil {
		return fmt.Errorf("topic %s: %w", p.cfg.Topic, ErrUnknownTopic)
	}
	if err := errCode(t.code, nil); err != nil {
		return fmt.Errorf("topic %s: %w", p.cfg.Topic, err)
	}
	if len(t.partitions) == 0 {
		return fmt.Errorf("topic %s has no partitions: %w", p.cfg.Topic, ErrUnknownTopic)
	}
	leaders := make([]int32, len(t.partitions))
	for i := range leaders {
		leaders[i] = -1
	}
	for _, pt := range t.partitions {
		if pt.index < 0 || int(pt.index) >= len(leaders) {
			return fmt.Errorf("topic %s: partition %d of %d", p.cfg.Topic, pt.index, len(leaders))
		}
		leaders[pt.index] = pt.leader
	}
	p.brokers = m.brokers
	p.leaders = leaders
	p.metaAt = time.Now()
	return nil
}

// initProducerID asks for a producer id and epoch (InitProducerId v0-v1,
// no transactional id) and starts every partition's sequence at 0.
func (p *Producer) initProducerID() error {
	resp, _, err := p.anyBroker(keyInitProducerID, func(int16) []byte {
		b := appendNullableString(nil, nil)
		return appendInt32(b, transactionTimeout)
	}, time.Now().Add(2*p.cfg.RequestTimeout))
	if err != nil {
		return err
	}
	r := reader{b: resp}
	r.int32() // throttle_time_ms
	code, id, epoch := r.int16(), r.int64(), r.int16()
	if r.err != nil {
		return fmt.Errorf("the InitProducerId response: %w", r.err)
	}
	if err := errCode(code, nil); err != nil {
		return fmt.Errorf("InitProducerId: %w", err)
	}
	p.ps = producerState{id: id, epoch: epoch}
	p.seqs = map[int32]int32{}
	p.haveID = true
	return nil
}

// produce sends batch to the leader of partition with acks=all and
// returns the partition's error.
func (p *Producer) produce(partition int32, batch []byte) error {
	leader := int32(-1)
	if int(partition) < len(p.leaders) {
		leader = p.leaders[partition]
	}
	addr, ok := p.brokers[leader]
	if !ok {
		return fmt.Errorf("partition %d of %s: %w", partition, p.cfg.Topic, &Error{Code: 5})
	}
	c, err := p.connTo(addr)
	if err != nil {
		return err
	}
	v := c.versions[keyProduce]
	b := appendNullableString(nil, nil) // transactional_id
	b = appendInt16(b, -1)              // acks: all in-sync replicas
	b = appendInt32(b, int32(p.cfg.RequestTimeout.Milliseconds()))
	b = appendInt32(b, 1)
	b = appendString(b, p.cfg.Topic)
	b = appendInt32(b, 1)
	b = appendInt32(b, partition)
	b = appendBytes(b, batch)
	resp, err := c.roundTrip(keyProduce, b, time.Now().Add(2*p.cfg.RequestTimeout))
	if err != nil {
		p.drop(addr)
		return err
	}
	perr, err := decodeProduce(resp, v, p.cfg.Topic, partition)
	if err != nil {
		p.drop(addr)
		return &connError{addr, fmt.Errorf("the Produce response: %w", err)}
	}
	if perr != nil {
		return fmt.Errorf("partition %d of %s on broker %s: %w", partition, p.cfg.Topic, addr, perr)
	}
	return nil
}

type metadataResponse struct {
	brokers map[int32]string
	topics  []topicMetadata
}

type topicMetadata struct {
	code       int16
	name       string
	partitions []partitionMetadata
}

type partitionMetadata struct {
	code          int16
	index, leader int32
}

// decodeMetadata reads a Metadata response of version v (4 to 8).
func decodeMetadata(b []byte, v int16) (metadataResponse, error) {
	r := reader{b: b}
	m := metadataResponse{brokers: map[int32]string{}}
	r.int32()                  // throttle_time_ms
	for range r.arrayLen(12) { // node, host, port, rack
		if r.err != nil {
			break
		}
		node, host, port := r.int32(), r.string(), r.int32()
		r.nullableString() // rack
		m.brokers[node] = net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	r.nullableString()        // cluster_id
	r.int32()                 // controller_id
	for range r.arrayLen(9) { // code, name, is_internal, partitions
		if r.err != nil {
			break
		}
		t := topicMetadata{code: r.int16(), name: r.string()}
		r.bool()                   // is_internal
		for range r.arrayLen(18) { // code, index, leader, replicas, isr
			if r.err != nil {
				break
			}
			pt := partitionMetadata{code: r.int16(), index: r.int32(), leader: r.int32()}
			if v >= 7 {
				r.int32() // leader_epoch
			}
			r.int32s() // replica_nodes
			r.int32s() // isr_nodes
			if v >= 5 {
				r.int32s() // offline_replicas
			}
			t.partitions = append(t.partitions, pt)
		}
		if v >= 8 {
			r.int32() // topic_authorized_operations
		}
		m.topics = append(m.topics, t)
	}
	if v >= 8 {
		r.int32() // cluster_authorized_operations
	}
	return m, r.err
}

// decodeProduce reads a Produce response of version v (3 to 8) and
// returns the error of topic's partition, with the broker's message (v8).
func decodeProduce(b []byte, v int16, topic string, partition int32) (error, error) {
	r := reader{b: b}
	var found bool
	var perr error
	for range r.arrayLen(6) { // name, partitions
		if r.err != nil {
			break
		}
		name := r.string()
		for range r.arrayLen(22) { // index, code, base_offset, log_append_time_ms
			if r.err != nil {
				break
			}
			idx, code := r.int32(), r.int16()
			r.int64() // base_offset
			r.int64() // log_append_time_ms
			if v >= 5 {
				r.int64() // log_start_offset
			}
			var msg *string
			if v >= 8 {
				for range r.arrayLen(6) { // record_errors: batch_index, message
					if r.err != nil {
						break
					}
					r.int32()
					r.nullableString()
				}
				msg = r.nullableString()
			}
			if name == topic && idx == partition {
				found = true
				perr = errCode(code, msg)
			}
		}
	}
	r.int32() // throttle_time_ms
	if r.err != nil {
		return nil, r.err
	}
	if !found {
		return nil, fmt.Errorf("no answer for partition %d of %s", partition, topic)
	}
	return perr, nil
}
