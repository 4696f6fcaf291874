package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
)

func TestKafkaContract(t *testing.T) { queuetest.Run(t, queuetest.Kafka(t)) }

// TestKafkaRecordAsConsumerReadsIt checks the bytes a kgo consumer reads:
// binary-mode headers, the data alone as the value, and the request's key.
func TestKafkaRecordAsConsumerReadsIt(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "outcomes"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := queuetest.ConsumeKafkaRecords(t, c.ListenAddrs(), "outcomes")
	p, err := queue.Open(context.Background(), "kafka://"+strings.Join(c.ListenAddrs(), ",")+"/outcomes")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var msgs []outgoing.Event
	for i, typ := range []string{"io.vpngw.gateway.accepted", "io.vpngw.gateway.active"} {
		m := queuetest.NewMessage("ev-"+typ, typ, i)
		m.Key = "request-1"
		msgs = append(msgs, m)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := p.Publish(ctx, m); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		cancel()
	}
	var parts []int32
	for i, m := range msgs {
		var r queuetest.KafkaRecord
		select {
		case r = <-in:
		case <-time.After(15 * time.Second):
			t.Fatalf("record %d did not arrive", i)
		}
		parts = append(parts, r.Partition)
		if string(r.Key) != "request-1" {
			t.Errorf("key %q, want the request's identity request-1", r.Key)
		}
		if want := `{"seq":` + string(rune('0'+i)) + `}`; string(r.Value) != want {
			t.Errorf("value %s, want the data alone %s", r.Value, want)
		}
		for k, want := range map[string]string{
			"ce_id": m.ID, "ce_type": m.Type, "ce_source": "/vpngw", "ce_specversion": "1.0", "content-type": "application/json",
		} {
			if r.Headers[k] != want {
				t.Errorf("header %s = %q, want %q", k, r.Headers[k], want)
			}
		}
		if _, ok := r.Headers["ce_datacontenttype"]; ok {
			t.Errorf("datacontenttype sent as ce_datacontenttype, want it in content-type only")
		}
	}
	if parts[0] != parts[1] {
		t.Errorf("a request's events went to partitions %v, want one", parts)
	}
}

func TestKafkaErrorsHoldNoPassword(t *testing.T) {
	p, err := queue.Open(context.Background(), "kafka://alice:pa55-w0rd@127.0.0.1:1/t?sasl=scram-sha-512&timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err = p.Publish(ctx, queuetest.NewMessage("ev", "io.vpngw.gateway.active", 1))
	if err == nil || errors.Is(err, queue.ErrRefused) {
		t.Fatalf("no broker: got %v, want a transient error", err)
	}
	if strings.Contains(err.Error(), "pa55-w0rd") {
		t.Fatalf("error holds the password: %v", err)
	}
}
