package kafkawire_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/vpngw/vpngw/internal/queue/kafkawire"
	"github.com/vpngw/vpngw/internal/testenv"
)

const wait = 15 * time.Second

func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func newProducer(t *testing.T, cfg kafkawire.Config) *kafkawire.Producer {
	t.Helper()
	p, err := kafkawire.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// produce returns the outcome of rec, or fails the test if none comes.
func produce(t *testing.T, p *kafkawire.Producer, rec kafkawire.Record) error {
	t.Helper()
	done := start(p, rec)
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		t.Fatalf("no outcome for %q within %s; last error: %v", rec.Value, wait, p.LastError())
		return nil
	}
}

func start(p *kafkawire.Producer, rec kafkawire.Record) <-chan error {
	done := make(chan error, 1)
	p.Produce(rec, func(err error) { done <- err })
	return done
}

func record(key, value string) kafkawire.Record {
	return kafkawire.Record{Key: []byte(key), Value: []byte(value)}
}

// consume reads n records of topic from the start with franz-go's consumer.
func consume(t *testing.T, c *kfake.Cluster, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var got []*kgo.Record
	for len(got) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	if len(got) < n {
		t.Fatalf("read %d of %d records of %s", len(got), n, topic)
	}
	// Nothing more within a moment: no record was written twice.
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { got = append(got, r) })
	return got
}

// sent is a Produce request's batch as the broker received it.
type sent struct {
	acks       int16
	partition  int32
	producerID int64
	epoch      int16
	sequence   int32
	value      string
}

// watchProduce records every Produce request the cluster receives,
// leaving it to the cluster to answer.
func watchProduce(c *kfake.Cluster) func() []sent {
	var mu sync.Mutex
	var all []sent
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.ProduceRequest)
		for _, tp := range r.Topics {
			for _, pp := range tp.Partitions {
				var b kmsg.RecordBatch
				if err := b.ReadFrom(pp.Records); err != nil {
					continue
				}
				var rec kmsg.Record
				_ = rec.ReadFrom(b.Records)
				mu.Lock()
				all = append(all, sent{r.Acks, pp.Partition, b.ProducerID, b.ProducerEpoch, b.FirstSequence, string(rec.Value)})
				mu.Unlock()
			}
		}
		return nil, nil, false
	})
	return func() []sent {
		mu.Lock()
		defer mu.Unlock()
		return append([]sent(nil), all...)
	}
}

func countKey(c *kfake.Cluster, key kmsg.Key) *atomic.Int32 {
	var n atomic.Int32
	c.ControlKey(int16(key), func(kmsg.Request) (kmsg.Response, error, bool) {
		n.Add(1)
		return nil, nil, false
	})
	return &n
}

func TestProducesKeyedIdempotentRecordsWithAcksAll(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(8, "t"))
	batches := watchProduce(c)
	p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t", ClientID: "vpngw-test"})
	recs := []kafkawire.Record{
		{Key: []byte("request-1"), Value: []byte(`{"seq":0}`), Headers: []kafkawire.Header{{Key: "ce_id", Value: []byte("ev-0")}, {Key: "content-type", Value: []byte("application/json")}}},
		record("request-1", `{"seq":1}`),
		record("request-2", `{"seq":2}`),
		record("request-1", `{"seq":3}`),
	}
	for _, r := range recs {
		if err := produce(t, p, r); err != nil {
			t.Fatalf("Produce %s: %v", r.Value, err)
		}
	}
	kp := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	got := consume(t, c, "t", len(recs))
	if len(got) != len(recs) {
		t.Fatalf("read %d records, want %d", len(got), len(recs))
	}
	byValue := map[string]*kgo.Record{}
	for _, r := range got {
		byValue[string(r.Value)] = r
	}
	for _, want := range recs {
		r := byValue[string(want.Value)]
		if r == nil {
			t.Fatalf("record %s not read", want.Value)
		}
		if string(r.Key) != string(want.Key) {
			t.Errorf("%s: key %q, want %q", want.Value, r.Key, want.Key)
		}
		if wantP := int32(kp.Partition(&kgo.Record{Key: want.Key}, 8)); r.Partition != wantP {
			t.Errorf("%s: partition %d, want %d as franz-go's key partitioner chose", want.Value, r.Partition, wantP)
		}
		if len(r.Headers) != len(want.Headers) {
			t.Fatalf("%s: headers %v, want %v", want.Value, r.Headers, want.Headers)
		}
		for i, h := range want.Headers {
			if r.Headers[i].Key != h.Key || string(r.Headers[i].Value) != string(h.Value) {
				t.Errorf("%s: header %s=%s, want %s=%s", want.Value, r.Headers[i].Key, r.Headers[i].Value, h.Key, h.Value)
			}
		}
	}
	// acks=all, one producer id, and on each partition sequences 0, 1, …
	seqs, want := map[int32][]int32{}, map[int32][]int32{}
	for _, b := range batches() {
		if b.acks != -1 || b.producerID < 0 || b.producerID != batches()[0].producerID {
			t.Errorf("batch %s: acks %d, producer id %d; want acks -1 (all) and one producer id ≥ 0", b.value, b.acks, b.producerID)
		}
		seqs[b.partition] = append(seqs[b.partition], b.sequence)
		want[b.partition] = append(want[b.partition], int32(len(want[b.partition])))
	}
	if len(batches()) != len(recs) || fmt.Sprint(seqs) != fmt.Sprint(want) {
		t.Errorf("%d batches, sequences by partition %v; want %d batches, %v", len(batches()), seqs, len(recs), want)
	}
}

// A Produce whose answer is lost (REQUEST_TIMED_OUT after the broker wrote
// it) is sent again as the same batch, same sequence: the broker keeps one
// copy, and the next record's sequence follows on.
func TestAnswerLostSendsTheSameBatchAgain(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	batches := watchProduce(c)
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: 2})
	p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t"})
	if err := produce(t, p, record("k", "first")); err != nil {
		t.Fatalf("Produce: %v", err)
	}
	if err := produce(t, p, record("k", "second")); err != nil {
		t.Fatalf("Produce: %v", err)
	}
	got := consume(t, c, "t", 2)
	if len(got) != 2 || string(got[0].Value) != "first" || string(got[1].Value) != "second" {
		var vs []string
		for _, r := range got {
			vs = append(vs, string(r.Value))
		}
		t.Fatalf("read %q, want [first second] (one copy each)", vs)
	}
	var seen []string
	for _, b := range batches() {
		seen = append(seen, fmt.Sprintf("%s@%d/%d", b.value, b.producerID, b.sequence))
	}
	id := batches()[0].producerID
	if want := fmt.Sprintf("[first@%d/0 first@%d/0 first@%d/0 second@%d/1]", id, id, id, id); fmt.Sprint(seen) != want {
		t.Errorf("batches sent %v, want %s", seen, want)
	}
}

// Retriable answers are retried: a partition without a leader, a leader
// that moved, too few replicas; the record is written once.
func TestRetriableErrorsAreRetried(t *testing.T) {
	for _, e := range []*kerr.Error{kerr.LeaderNotAvailable, kerr.NotLeaderForPartition, kerr.NotEnoughReplicas, kerr.UnknownTopicOrPartition} {
		t.Run(e.Message, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(1, "t"))
			c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: e, Count: 3},
				kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Err: e, Count: 1})
			p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t"})
			if err := produce(t, p, record("k", "v")); err != nil {
				t.Fatalf("Produce after %s: %v", e.Message, err)
			}
			if got := consume(t, c, "t", 1); len(got) != 1 {
				t.Fatalf("read %d records, want 1", len(got))
			}
		})
	}
}

// A topic that does not exist yet is waited for, saying so, and written
// to once the operator creates it.
func TestMissingTopicIsWaitedFor(t *testing.T) {
	c := newCluster(t)
	p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "later"})
	done := start(p, record("k", "v"))
	time.Sleep(500 * time.Millisecond)
	if err := p.LastError(); !errors.Is(err, kafkawire.ErrUnknownTopic) || !strings.Contains(err.Error(), "later") {
		t.Fatalf("LastError while the topic is missing: %v, want UNKNOWN_TOPIC_OR_PARTITION naming topic later", err)
	}
	select {
	case err := <-done:
		t.Fatalf("gave up on a missing topic: %v", err)
	default:
	}
	if err := c.CreateTopic("later", 1, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after the topic was created: %v", err)
		}
	case <-time.After(wait):
		t.Fatalf("not written after the topic was created; last error %v", p.LastError())
	}
}

// An answer that is not retriable fails the record at once, naming the
// partition and the broker; the producer goes on with the next.
func TestNonRetriableErrorFailsTheRecord(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.TopicAuthorizationFailed})
	p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t"})
	err := produce(t, p, record("k", "refused"))
	if !errors.Is(err, &kafkawire.Error{Code: 29}) || !strings.Contains(err.Error(), "TOPIC_AUTHORIZATION_FAILED") || !strings.Contains(err.Error(), "partition 0 of t") {
		t.Fatalf("got %v, want TOPIC_AUTHORIZATION_FAILED naming partition 0 of t", err)
	}
	if err := produce(t, p, record("k", "next")); err != nil {
		t.Fatalf("the next record: %v", err)
	}
	if got := consume(t, c, "t", 1); len(got) != 1 || string(got[0].Value) != "next" {
		t.Fatalf("read %d records, want only next", len(got))
	}
}

// A broker that lost the producer's state gets a new producer id, and the
// record is written once under it.
func TestLostProducerStateTakesANewProducerID(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	inits := countKey(c, kmsg.InitProducerID)
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.OutOfOrderSequenceNumber})
	p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t"})
	if err := produce(t, p, record("k", "v")); err != nil {
		t.Fatalf("Produce: %v", err)
	}
	if n := inits.Load(); n != 2 {
		t.Errorf("InitProducerId sent %d times, want 2", n)
	}
	if got := consume(t, c, "t", 1); len(got) != 1 {
		t.Fatalf("read %d records, want 1", len(got))
	}
}

func TestMessageTooLarge(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	if err := c.CreateTopic("small", 1, map[string]string{"max.message.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	t.Run("the topic refuses it", func(t *testing.T) {
		p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "small"})
		err := produce(t, p, record("k", strings.Repeat("x", 4096)))
		if !errors.Is(err, kafkawire.ErrMessageTooLarge) {
			t.Fatalf("got %v, want MESSAGE_TOO_LARGE", err)
		}
		if err := produce(t, p, record("k", "small")); err != nil {
			t.Fatalf("the next, small record: %v", err)
		}
	})
	t.Run("over the producer's limit, not sent", func(t *testing.T) {
		batches := watchProduce(c)
		p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t", MaxBatchBytes: 2048})
		err := produce(t, p, record("k", strings.Repeat("x", 4096)))
		if !errors.Is(err, kafkawire.ErrMessageTooLarge) || !strings.Contains(err.Error(), "2048") {
			t.Fatalf("got %v, want MESSAGE_TOO_LARGE naming the limit 2048", err)
		}
		if n := len(batches()); n != 0 {
			t.Errorf("%d Produce requests sent, want none", n)
		}
	})
	t.Run("franz-go's default limit", func(t *testing.T) {
		p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t"})
		if err := produce(t, p, record("k", strings.Repeat("x", kafkawire.DefaultMaxBatchBytes))); !errors.Is(err, kafkawire.ErrMessageTooLarge) {
			t.Fatalf("a record of %d bytes: got %v, want MESSAGE_TOO_LARGE", kafkawire.DefaultMaxBatchBytes, err)
		}
	})
}

func TestSASL(t *testing.T) {
	for _, mech := range []string{kafkawire.Plain, kafkawire.ScramSHA256, kafkawire.ScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(1, "t"), kfake.EnableSASL(), kfake.Superuser(mech, "alice", "pa55-w0rd"))
			p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t",
				SASL: &kafkawire.SASL{Mechanism: mech, User: "alice", Password: "pa55-w0rd"}})
			if err := produce(t, p, record("k", "v")); err != nil {
				t.Fatalf("Produce as alice: %v", err)
			}
			bad := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t",
				SASL: &kafkawire.SASL{Mechanism: mech, User: "alice", Password: "wrong-pa55"}})
			err := produce(t, bad, record("k", "v"))
			if !errors.Is(err, kafkawire.ErrSASLAuthentication) || !strings.Contains(err.Error(), mech) || !strings.Contains(err.Error(), "alice") {
				t.Fatalf("wrong password: got %v, want SASL_AUTHENTICATION_FAILED naming %s and alice", err, mech)
			}
			if strings.Contains(err.Error(), "wrong-pa55") {
				t.Fatalf("error holds the password: %v", err)
			}
		})
	}
	t.Run("mechanism the broker lacks", func(t *testing.T) {
		c := newCluster(t, kfake.SeedTopics(1, "t"), kfake.EnableSASL(), kfake.Superuser(kafkawire.ScramSHA256, "alice", "pa55-w0rd"))
		p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t",
			SASL: &kafkawire.SASL{Mechanism: kafkawire.ScramSHA512, User: "alice", Password: "pa55-w0rd"}})
		if err := produce(t, p, record("k", "v")); err == nil || !strings.Contains(err.Error(), "SCRAM-SHA-512") {
			t.Fatalf("got %v, want a refusal naming SCRAM-SHA-512", err)
		}
	})
	if _, err := kafkawire.NewProducer(kafkawire.Config{Brokers: []string{"b:9092"}, Topic: "t", SASL: &kafkawire.SASL{Mechanism: "GSSAPI"}}); err == nil {
		t.Error("NewProducer took SASL mechanism GSSAPI")
	}
}

// A broker that refuses connections, and one that takes the connection and
// never answers: the record waits, the producer says why (timeout bounding
// each wait), and Close fails the record at once.
func TestUnreachableBroker(t *testing.T) {
	ends := testenv.UnreachableEndpoints(t)
	for name, want := range map[string][]string{
		"connection refused": {"refused"},
		"timeout":            {"timeout", "ApiVersions"},
	} {
		t.Run(name, func(t *testing.T) {
			addr := strings.TrimPrefix(ends[name], "http://")
			p := newProducer(t, kafkawire.Config{Brokers: []string{addr}, Topic: "t", DialTimeout: 100 * time.Millisecond, RequestTimeout: 100 * time.Millisecond})
			done := start(p, record("k", "v"))
			time.Sleep(500 * time.Millisecond)
			err := p.LastError()
			for _, w := range append(want, addr) {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("LastError: %v, want it to say %q", err, w)
				}
			}
			closeAndExpectClosed(t, p, done)
		})
	}
}

func closeAndExpectClosed(t *testing.T, p *kafkawire.Producer, done <-chan error) {
	t.Helper()
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := <-done; !errors.Is(err, kafkawire.ErrClosed) {
		t.Fatalf("the waiting record: %v, want ErrClosed", err)
	}
	if err := produce(t, p, record("k", "after")); !errors.Is(err, kafkawire.ErrClosed) {
		t.Fatalf("Produce after Close: %v, want ErrClosed", err)
	}
}

// Versions are chosen from what the broker serves: Kafka 2.1, the oldest
// Kafka 4 still serves clients of, and 4.0 both work (and 2.0, whose
// Metadata v6 and Produce v6 take the older decoding paths); a broker
// older than the record batch v2 format is refused by name.
func TestVersionNegotiation(t *testing.T) {
	for _, c := range []struct {
		name string
		v    *kversion.Versions
		want string // the versions sent, as kmsg names the requests
	}{
		{"2.0", kversion.V2_0_0(), "Metadata v6, InitProducerID v1, Produce v6"},
		{"2.1", kversion.V2_1_0(), "Metadata v7, InitProducerID v1, Produce v7"},
		{"3.9", kversion.V3_9_0(), "Metadata v8, InitProducerID v1, Produce v8"},
		{"4.0", kversion.V4_0_0(), "Metadata v8, InitProducerID v1, Produce v8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := newCluster(t, kfake.SeedTopics(2, "t"), kfake.MaxVersions(c.v))
			var mu sync.Mutex
			var sent []string
			for _, k := range []kmsg.Key{kmsg.Metadata, kmsg.InitProducerID, kmsg.Produce} {
				cl.ControlKey(int16(k), func(r kmsg.Request) (kmsg.Response, error, bool) {
					mu.Lock()
					sent = append(sent, fmt.Sprintf("%s v%d", k.Name(), r.GetVersion()))
					mu.Unlock()
					return nil, nil, false
				})
			}
			p := newProducer(t, kafkawire.Config{Brokers: cl.ListenAddrs(), Topic: "t"})
			if err := produce(t, p, record("k", "v")); err != nil {
				t.Fatalf("Kafka %s: %v", c.name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got := strings.Join(sent, ", "); got != c.want {
				t.Errorf("Kafka %s: sent %s, want %s", c.name, got, c.want)
			}
		})
	}
	t.Run("a listener without SASL", func(t *testing.T) {
		v := kversion.V3_9_0()
		v.SetMaxKeyVersion(int16(kmsg.SASLHandshake), -1)
		v.SetMaxKeyVersion(int16(kmsg.SASLAuthenticate), -1)
		c := newCluster(t, kfake.SeedTopics(1, "t"), kfake.MaxVersions(v))
		p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t"})
		if err := produce(t, p, record("k", "v")); err != nil {
			t.Fatalf("no SASL asked, none offered: %v", err)
		}
		withSASL := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t", SASL: &kafkawire.SASL{Mechanism: kafkawire.Plain, User: "u", Password: "p"}})
		if err := produce(t, withSASL, record("k", "v")); !errors.Is(err, kafkawire.ErrUnsupportedBroker) || !strings.Contains(err.Error(), "SaslHandshake") {
			t.Fatalf("SASL asked, none offered: got %v, want ErrUnsupportedBroker naming SaslHandshake", err)
		}
	})
	t.Run("0.10.2", func(t *testing.T) {
		c := newCluster(t, kfake.SeedTopics(1, "t"), kfake.MaxVersions(kversion.V0_10_2()))
		p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t"})
		err := produce(t, p, record("k", "v"))
		if !errors.Is(err, kafkawire.ErrUnsupportedBroker) {
			t.Fatalf("Kafka 0.10.2: got %v, want ErrUnsupportedBroker", err)
		}
		t.Log(err)
	})
}

// Concurrent records keep the order they were queued in on a partition.
func TestConcurrentRecordsAllArrive(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(3, "t"))
	p := newProducer(t, kafkawire.Config{Brokers: c.ListenAddrs(), Topic: "t"})
	var dones []<-chan error
	for i := range 50 {
		dones = append(dones, start(p, record("k"+strconv.Itoa(i%5), strconv.Itoa(i))))
	}
	for i, d := range dones {
		select {
		case err := <-d:
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		case <-time.After(wait):
			t.Fatalf("record %d: no outcome", i)
		}
	}
	last := map[string]int{}
	for _, r := range consume(t, c, "t", 50) {
		v, _ := strconv.Atoi(string(r.Value))
		if prev, ok := last[string(r.Key)]; ok && v < prev {
			t.Errorf("key %s: %d read after %d", r.Key, v, prev)
		}
		last[string(r.Key)] = v
	}
}
