package kafkawire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The Kafka protocol's primitive types, as the protocol guide defines them:
// big-endian integers, strings and byte arrays with an int16 or int32
// length (-1 for null), arrays with an int32 count, and, inside a record,
// zig-zag varints. Only the non-flexible (pre-KIP-482) encodings are here:
// every request version this package sends is non-flexible.

func appendInt8(b []byte, v int8) []byte   { return append(b, byte(v)) }
func appendInt16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func appendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	return append(appendInt16(b, int16(len(s))), s...)
}

// appendNullableString writes a null string for nil.
func appendNullableString(b []byte, s *string) []byte {
	if s == nil {
		return appendInt16(b, -1)
	}
	return appendString(b, *s)
}

func appendBytes(b, v []byte) []byte {
	return append(appendInt32(b, int32(len(v))), v...)
}

// appendVarint writes v zig-zag encoded, as record fields are.
func appendVarint(b []byte, v int64) []byte {
	return binary.AppendVarint(b, v)
}

// appendVarintBytes writes a record's key, value or header value: its
// length as a varint (-1 for nil) and the bytes.
func appendVarintBytes(b, v []byte) []byte {
	if v == nil {
		return appendVarint(b, -1)
	}
	return append(appendVarint(b, int64(len(v))), v...)
}

// errShort is a response that ended before its fields did.
var errShort = errors.New("response ends early")

// reader decodes a response; the first error sticks and later reads return
// zero values, so a decoder checks err once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) int8() int8 {
	if v := r.take(1); v != nil {
		return int8(v[0])
	}
	return 0
}

func (r *reader) bool() bool { return r.int8() != 0 }

func (r *reader) int16() int16 {
	if v := r.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *reader) int32() int32 {
	if v := r.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (r *reader) int64() int64 {
	if v := r.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func (r *reader) string() string {
	n := r.int16()
	if n < 0 {
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) nullableString() *string {
	n := r.int16()
	if n < 0 {
		return nil
	}
	s := string(r.take(int(n)))
	return &s
}

func (r *reader) bytes() []byte {
	n := r.int32()
	if n < 0 {
		return nil
	}
	return r.take(int(n))
}

// arrayLen is an array's count; a null array counts as empty. A count the
// remaining bytes cannot hold, at elem bytes at least an element, is an
// error rather than a huge allocation; so is every count read after an
// error, and the decoders' loops stop at the first error, so that a short
// response claiming millions of elements costs nothing.
func (r *reader) arrayLen(elem int) int {
	n := r.int32()
	if r.err == nil && int64(n)*int64(elem) > int64(len(r.b)) {
		r.err = fmt.Errorf("array of %d elements of at least %d bytes in %d bytes", n, elem, len(r.b))
	}
	if r.err != nil {
		return 0
	}
	return max(int(n), 0)
}

func (r *reader) int32s() []int32 {
	n := r.arrayLen(4)
	v := make([]int32, 0, n)
	for range n {
		v = append(v, r.int32())
	}
	return v
}
