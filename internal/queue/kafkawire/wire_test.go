package kafkawire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The check value of CRC-32C (Castagnoli), from RFC 3720 and every CRC
// catalogue: the checksum of "123456789".
func TestCRC32CCheckValue(t *testing.T) {
	if got := crc32.Checksum([]byte("123456789"), crc32c); got != 0xE3069283 {
		t.Fatalf("crc32c(123456789) = %#x, want 0xe3069283", got)
	}
}

// Zig-zag varints as the protocol guide and Protocol Buffers define them.
func TestVarintBytes(t *testing.T) {
	for _, c := range []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0x00}},
		{-1, []byte{0x01}},
		{1, []byte{0x02}},
		{-64, []byte{0x7f}},
		{64, []byte{0x80, 0x01}},
		{300, []byte{0xd8, 0x04}},
		{-2147483648, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
	} {
		if got := appendVarint(nil, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("varint(%d) = % x, want % x", c.v, got, c.want)
		}
	}
	if got := appendVarintBytes(nil, nil); !bytes.Equal(got, []byte{0x01}) {
		t.Errorf("null bytes = % x, want 01 (length -1)", got)
	}
}

// Kafka's own murmur2 vectors (clients' UtilsTest.testMurmur2).
func TestMurmur2KafkaVectors(t *testing.T) {
	for key, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := int32(murmur2([]byte(key))); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", key, got, want)
		}
	}
}

// A key goes to the partition franz-go's StickyKeyPartitioner(nil), which
// the sink used before, chose for it: a request's events stay where they
// were.
func TestPartitionMatchesFranzGoKeyPartitioner(t *testing.T) {
	kp := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		key := make([]byte, r.IntN(40))
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		if i%3 == 0 {
			key = fmt.Appendf(nil, "request-%d", i)
		}
		n := 1 + r.IntN(64)
		want := kp.Partition(&kgo.Record{Key: key}, n)
		if got := partitionFor(key, n); int(got) != want {
			t.Fatalf("key %q of %d partitions: partition %d, franz-go chose %d", key, n, got, want)
		}
	}
}

// A batch this package writes, read back by franz-go's kmsg: every field
// where Kafka expects it, the CRC-32C over the right bytes, and records
// whose key, value and headers survive.
func TestBatchReadBackByKmsg(t *testing.T) {
	recs := []Record{
		{Key: []byte("request-1"), Value: []byte(`{"seq":1}`), Headers: []Header{{"ce_id", []byte("ev-1")}, {"content-type", []byte("application/json")}}},
		{Key: nil, Value: []byte("second"), Headers: []Header{{"empty", []byte{}}}},
	}
	ps := producerState{id: 4242, epoch: 7, sequence: 2147483600}
	raw := appendBatch([]byte("prefix"), ps, 1764633600123, recs)[len("prefix"):]

	var b kmsg.RecordBatch
	if err := b.ReadFrom(raw); err != nil {
		t.Fatalf("kmsg cannot read the batch: %v", err)
	}
	if int(b.Length) != len(raw)-12 {
		t.Errorf("Length %d, want %d (everything after the length field)", b.Length, len(raw)-12)
	}
	if want := int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))); b.CRC != want {
		t.Errorf("CRC %#x, want CRC-32C of the bytes from the attributes on, %#x", b.CRC, want)
	}
	for name, c := range map[string][2]int64{
		"FirstOffset":          {b.FirstOffset, 0},
		"PartitionLeaderEpoch": {int64(b.PartitionLeaderEpoch), -1},
		"Magic":                {int64(b.Magic), 2},
		"Attributes":           {int64(b.Attributes), 0},
		"LastOffsetDelta":      {int64(b.LastOffsetDelta), 1},
		"FirstTimestamp":       {b.FirstTimestamp, 1764633600123},
		"MaxTimestamp":         {b.MaxTimestamp, 1764633600123},
		"ProducerID":           {b.ProducerID, 4242},
		"ProducerEpoch":        {int64(b.ProducerEpoch), 7},
		"FirstSequence":        {int64(b.FirstSequence), 2147483600},
		"NumRecords":           {int64(b.NumRecords), 2},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %d, want %d", name, c[0], c[1])
		}
	}
	rest := b.Records
	for i, want := range recs {
		n, w := binary.Varint(rest)
		if w <= 0 || int(n)+w > len(rest) {
			t.Fatalf("record %d: length varint %d in %d bytes", i, n, len(rest))
		}
		var r kmsg.Record
		if err := r.ReadFrom(rest[:w+int(n)]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		rest = rest[w+int(n):]
		if r.OffsetDelta != int32(i) || r.TimestampDelta64 != 0 || r.Attributes != 0 {
			t.Errorf("record %d: offset delta %d, timestamp delta %d, attributes %d; want %d, 0, 0", i, r.OffsetDelta, r.TimestampDelta64, r.Attributes, i)
		}
		if (r.Key == nil) != (want.Key == nil) || !bytes.Equal(r.Key, want.Key) || !bytes.Equal(r.Value, want.Value) {
			t.Errorf("record %d: key %q value %q, want %q %q", i, r.Key, r.Value, want.Key, want.Value)
		}
		if len(r.Headers) != len(want.Headers) {
			t.Fatalf("record %d: %d headers, want %d", i, len(r.Headers), len(want.Headers))
		}
		for j, h := range want.Headers {
			if r.Headers[j].Key != h.Key || !bytes.Equal(r.Headers[j].Value, h.Value) {
				t.Errorf("record %d header %d: %s=%q, want %s=%q", i, j, r.Headers[j].Key, r.Headers[j].Value, h.Key, h.Value)
			}
		}
	}
	if len(rest) != 0 {
		t.Errorf("%d bytes after the last record", len(rest))
	}
}

// Names and retriability of the codes the producer tells apart, as Kafka
// defines them (franz-go's kerr carries Kafka's table).
func TestErrorCodesAsKafkaDefinesThem(t *testing.T) {
	for code, c := range codes {
		k := kerr.ErrorForCode(code)
		ke, ok := k.(*kerr.Error)
		if !ok {
			t.Fatalf("code %d: kerr knows no such code", code)
		}
		name := ke.Message
		if code == 6 {
			name = "NOT_LEADER_OR_FOLLOWER" // its name since Kafka 2.6 (KIP-392); kerr keeps the old one
		}
		if name != c.name || ke.Retriable != c.retriable {
			t.Errorf("code %d: %s retriable=%v; Kafka: %v", code, c.name, c.retriable, k)
		}
	}
}

// metadataBytes is a Metadata response of version v: broker 1 at
// host:9092 and topic t with one partition led by it.
func metadataBytes(v int16) []byte {
	b := appendInt32(nil, 0) // throttle_time_ms
	b = appendInt32(b, 1)
	b = appendInt32(b, 1)
	b = appendString(b, "host")
	b = appendInt32(b, 9092)
	b = appendNullableString(b, nil)
	b = appendNullableString(b, nil) // cluster_id
	b = appendInt32(b, 1)            // controller_id
	b = appendInt32(b, 1)            // one topic
	b = appendInt16(b, 0)
	b = appendString(b, "t")
	b = appendBool(b, false)
	b = appendInt32(b, 1) // one partition
	b = appendInt16(b, 0)
	b = appendInt32(b, 0)
	b = appendInt32(b, 1) // leader
	if v >= 7 {
		b = appendInt32(b, 0)
	}
	b = appendInt32(appendInt32(b, 1), 1) // replicas
	b = appendInt32(appendInt32(b, 1), 1) // isr
	if v >= 5 {
		b = appendInt32(b, 0)
	}
	if v >= 8 {
		b = appendInt32(appendInt32(b, 0), 0) // topic's and cluster's authorized operations
	}
	return b
}

// A response cut short is an error, not a panic or a huge allocation.
func TestDecodersRefuseShortResponses(t *testing.T) {
	meta := metadataBytes(8)
	if m, err := decodeMetadata(meta, 8); err != nil || m.brokers[1] != "host:9092" || len(m.topics) != 1 || len(m.topics[0].partitions) != 1 || m.topics[0].partitions[0].leader != 1 {
		t.Fatalf("whole Metadata v8 response: %+v, %v", m, err)
	}
	for n := range len(meta) {
		if _, err := decodeMetadata(meta[:n], 8); err == nil {
			t.Errorf("Metadata response cut at %d of %d bytes: no error", n, len(meta))
		}
	}
	huge := appendInt32(appendInt32(nil, 0), 1<<30)
	if _, err := decodeMetadata(huge, 4); err == nil {
		t.Error("Metadata response claiming 2^30 brokers in 0 bytes: no error")
	}
	if _, err := decodeProduce(appendInt32(nil, 0), 8, "t", 0); err == nil {
		t.Error("Produce response without the partition: no error")
	}
}

// A response that claims more elements than its bytes can hold is refused
// before anything is allocated for them, whatever array makes the claim and
// however many bytes follow: a hostile broker's small answer costs no
// memory. (A count of 2^20 topics over 2^20 zero bytes kept 2^20 empty
// topics, 257 MB, before.)
func TestHugeCountsCostNothing(t *testing.T) {
	body := func(prefix []byte, count int32, pad int) []byte {
		b := append([]byte(nil), prefix...)
		b = binary.BigEndian.AppendUint32(b, uint32(count))
		return append(b, make([]byte, pad)...)
	}
	// throttle, no brokers, no cluster id, controller: then the topics.
	metaPrefix := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}
	topics, brokers, produced := body(metaPrefix, 1<<20, 1<<20), body([]byte{0, 0, 0, 0}, 1<<20, 1<<20), body(nil, 1<<20, 1<<20)
	cases := map[string]func() error{
		"metadata topics": func() error {
			_, err := decodeMetadata(topics, 7)
			return err
		},
		"metadata brokers": func() error {
			_, err := decodeMetadata(brokers, 7)
			return err
		},
		"produce topics": func() error {
			_, err := decodeProduce(produced, 8, "t", 0)
			return err
		},
	}
	for name, decode := range cases {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := decode()
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: 2^20 elements in 2^20 bytes: no error", name)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: decoding allocated %d bytes, want under 1 MiB", name, grew)
		}
	}
}
