package queuetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
)

// KafkaMaxMessageBytes is the message.max.bytes of the cluster Kafka starts.
const KafkaMaxMessageBytes = 64 << 10

// Kafka returns a Broker backed by franz-go's kfake, an in-process cluster
// speaking the Kafka wire protocol, stopped at cleanup. Each destination is
// a topic of its own; its consumer reads with a kgo client from the start and
// rebuilds the structured event from the ce_ headers.
func Kafka(t testing.TB) Broker {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(KafkaMaxMessageBytes)}))
	if err != nil {
		t.Fatalf("kfake cluster: %v", err)
	}
	t.Cleanup(c.Close)
	seeds := c.ListenAddrs()
	return Broker{
		Binary: true,
		Refused: func(run string) (outgoing.Event, error) {
			m := NewMessage(run+"-big", "io.vpngw.gateway.failed", 2)
			// Random, so that the producer's compression cannot shrink
			// it under the limit.
			raw := make([]byte, 2*KafkaMaxMessageBytes)
			_, _ = rand.Read(raw)
			big := base64.StdEncoding.EncodeToString(raw)
			m.Body = []byte(`{"specversion":"1.0","id":"` + m.ID + `","source":"/vpngw","type":"` + m.Type + `","datacontenttype":"application/json","data":{"pad":"` + big + `"}}`)
			return m, queue.ErrTooLarge
		},
		NewDestination: func(t testing.TB) Destination {
			// One partition: the suite checks the order of events with
			// different keys, which Kafka keeps only within a partition.
			topic := "vpngwtest-" + NewRunID()
			if err := c.CreateTopic(topic, 1, map[string]string{"max.message.bytes": strconv.Itoa(KafkaMaxMessageBytes)}); err != nil {
				t.Fatalf("create topic %s: %v", topic, err)
			}
			url := "kafka://" + strings.Join(seeds, ",") + "/" + topic
			return Destination{
				NewPublisher: func(t testing.TB) queue.Publisher { return openPublisher(t, url) },
				Consume:      func(t testing.TB) <-chan Received { return ConsumeKafka(t, seeds, topic) },
				Route:        func(eventType string) string { return eventType },
			}
		},
	}
}

// KafkaRecord is a record as a kgo consumer read it.
type KafkaRecord struct {
	Key, Value []byte
	Headers    map[string]string
	Partition  int32
}

// ConsumeKafkaRecords reads every record of topic from the start, until
// cleanup.
func ConsumeKafkaRecords(t testing.TB, seeds []string, topic string) <-chan KafkaRecord {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("kafka consumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan KafkaRecord, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				h := map[string]string{}
				for _, x := range r.Headers {
					h[x.Key] = string(x.Value)
				}
				out <- KafkaRecord{Key: r.Key, Value: r.Value, Headers: h, Partition: r.Partition}
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return out
}

// ConsumeKafka is ConsumeKafkaRecords seen as the contract suite's
// Received: the structured event rebuilt from the ce_ headers.
func ConsumeKafka(t testing.TB, seeds []string, topic string) <-chan Received {
	in := ConsumeKafkaRecords(t, seeds, topic)
	out := make(chan Received, 1000)
	go func() {
		for r := range in {
			attrs := map[string]string{}
			for k, v := range r.Headers {
				if name, ok := strings.CutPrefix(k, "ce_"); ok {
					attrs[name] = v
				}
			}
			attrs["datacontenttype"] = r.Headers["content-type"]
			out <- Received{ID: attrs["id"], Route: attrs["type"], ContentType: r.Headers["content-type"], Body: Structured(attrs, r.Value)}
		}
	}()
	return out
}
