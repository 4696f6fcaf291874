package kafkawire

import (
	"encoding/binary"
	"hash/crc32"
)

// Record is one Kafka record to produce.
type Record struct {
	Key, Value []byte
	Headers    []Header
}

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// crc32c is the Castagnoli table record batch v2 checksums with.
var crc32c = crc32.MakeTable(crc32.Castagnoli)

// producerState is what an idempotent batch carries: the producer id and
// epoch InitProducerId gave, and the partition's sequence number of the
// batch's first record.
type producerState struct {
	id       int64
	epoch    int16
	sequence int32
}

// appendBatch writes recs as one uncompressed record batch (magic 2), the
// format of Produce v3 and later, with createTime (Unix milliseconds) as
// every record's timestamp.
func appendBatch(b []byte, ps producerState, createTime int64, recs []Record) []byte {
	start := len(b)
	b = appendInt64(b, 0)  // baseOffset: the broker assigns offsets
	b = appendInt32(b, 0)  // batchLength, set below
	b = appendInt32(b, -1) // partitionLeaderEpoch: the broker sets it
	b = appendInt8(b, 2)   // magic
	b = appendInt32(b, 0)  // crc, set below
	crcFrom := len(b)
	b = appendInt16(b, 0) // attributes: no compression, create time, not transactional
	b = appendInt32(b, int32(len(recs)-1))
	b = appendInt64(b, createTime) // baseTimestamp
	b = appendInt64(b, createTime) // maxTimestamp
	b = appendInt64(b, ps.id)
	b = appendInt16(b, ps.epoch)
	b = appendInt32(b, ps.sequence)
	b = appendInt32(b, int32(len(recs)))
	for i, r := range recs {
		b = appendRecord(b, int64(i), r)
	}
	binary.BigEndian.PutUint32(b[start+8:], uint32(len(b)-start-12))
	binary.BigEndian.PutUint32(b[crcFrom-4:], crc32.Checksum(b[crcFrom:], crc32c))
	return b
}

// appendRecord writes one record of a v2 batch: its length as a varint,
// then attributes, timestamp delta (0: every record has the batch's time),
// offset delta, key, value and headers.
func appendRecord(b []byte, offsetDelta int64, r Record) []byte {
	body := make([]byte, 0, 16+len(r.Key)+len(r.Value)+32*len(r.Headers))
	body = appendInt8(body, 0)
	body = appendVarint(body, 0)
	body = appendVarint(body, offsetDelta)
	body = appendVarintBytes(body, r.Key)
	body = appendVarintBytes(body, r.Value)
	body = appendVarint(body, int64(len(r.Headers)))
	for _, h := range r.Headers {
		body = appendVarintBytes(body, []byte(h.Key))
		body = appendVarintBytes(body, h.Value)
	}
	b = appendVarint(b, int64(len(body)))
	return append(b, body...)
}
