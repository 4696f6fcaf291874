package queue_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/testenv"
)

// BenchmarkPublish is the publish latency of each sink kind: one outcome
// event, from Publish to the sink's acknowledgement (JetStream's PubAck,
// RabbitMQ's publisher confirm, the HTTP receiver's 2xx, Kafka's acks=all
// produce response, MQTT's PUBACK), one at a time as a sink's drain
// publishes. sec/op is the mean; p50-sec and p99-sec the median and 99th
// percentile. The brokers run on this machine: the embedded NATS and the
// HTTP receiver in the process, Kafka as franz-go's in-process kfake
// cluster, RabbitMQ and Mosquitto as the machine's services
// (VPNGW_TEST_AMQP_URL, VPNGW_TEST_MQTT_URL; the system NATS with
// VPNGW_TEST_NATS_URL). A consumer reads each destination throughout.
func BenchmarkPublish(b *testing.B) {
	for _, c := range []struct {
		name   string
		broker func(b *testing.B) queuetest.Broker
	}{
		{"nats-embedded", func(b *testing.B) queuetest.Broker { return queuetest.EmbeddedNATS(b) }},
		{"nats-system", func(b *testing.B) queuetest.Broker { return queuetest.NATS(b, testenv.URL(b, testenv.NATSEnv)) }},
		{"amqp", func(b *testing.B) queuetest.Broker { return queuetest.AMQP(b, testenv.URL(b, testenv.AMQPEnv)) }},
		{"http-structured", func(b *testing.B) queuetest.Broker { return queuetest.HTTP(b, false) }},
		{"http-binary", func(b *testing.B) queuetest.Broker { return queuetest.HTTP(b, true) }},
		{"kafka-kfake", func(b *testing.B) queuetest.Broker { return queuetest.Kafka(b) }},
		{"mqtt", func(b *testing.B) queuetest.Broker { return queuetest.MQTT(b, testenv.URL(b, testenv.MQTTEnv)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := c.broker(b).NewDestination(b)
			p := d.NewPublisher(b)
			in := d.Consume(b)
			done := make(chan struct{})
			b.Cleanup(func() { close(done) })
			go func() {
				for {
					select {
					case <-in:
					case <-done:
						return
					}
				}
			}()
			ctx := context.Background()
			run := queuetest.NewRunID()
			// One publish first, outside the timing: the connection and the
			// destination's first use.
			if err := p.Publish(ctx, queuetest.NewMessage("warm-"+run, "io.vpngw.gateway.accepted", 0)); err != nil {
				b.Fatal(err)
			}
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				m := queuetest.NewMessage(fmt.Sprintf("%s-%d", run, i), "io.vpngw.gateway.accepted", i)
				start := time.Now()
				if err := p.Publish(ctx, m); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(took[len(took)/2].Seconds(), "p50-sec")
			b.ReportMetric(took[len(took)*99/100].Seconds(), "p99-sec")
		})
	}
}
