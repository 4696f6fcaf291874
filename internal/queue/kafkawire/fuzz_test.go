package kafkawire

import (
	"testing"
)

// The decoders read what a broker (or anything listening where a broker
// should be) sent: no input makes them panic or allocate beyond it.

func FuzzDecodeMetadata(f *testing.F) {
	for _, v := range []int16{4, 5, 7, 8} {
		f.Add(metadataBytes(v), v)
	}
	f.Add([]byte{0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}, int16(4))
	f.Fuzz(func(t *testing.T, b []byte, v int16) {
		m, err := decodeMetadata(b, v)
		if err == nil && len(m.brokers) > len(b) {
			t.Fatalf("%d brokers from %d bytes", len(m.brokers), len(b))
		}
	})
}

func FuzzDecodeProduce(f *testing.F) {
	for _, v := range []int16{3, 5, 8} {
		b := appendInt32(nil, 1)
		b = appendString(b, "t")
		b = appendInt32(b, 1)
		b = appendInt32(b, 0)
		b = appendInt16(b, 10)
		b = appendInt64(b, -1)
		b = appendInt64(b, -1)
		if v >= 5 {
			b = appendInt64(b, 0)
		}
		if v >= 8 {
			b = appendInt32(b, 0)
			msg := "too large"
			b = appendNullableString(b, &msg)
		}
		f.Add(appendInt32(b, 0), v)
	}
	f.Fuzz(func(t *testing.T, b []byte, v int16) {
		_, _ = decodeProduce(b, v, "t", 0)
	})
}

func FuzzScramServerFirst(f *testing.F) {
	f.Add([]byte("r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	f.Add([]byte("e=other-error"))
	f.Add([]byte("r=abc"))
	f.Fuzz(func(t *testing.T, first []byte) {
		s, err := newScram(ScramSHA256, "u", "p", "abc")
		if err != nil {
			t.Fatal(err)
		}
		if final, err := s.clientFinal(first); err == nil {
			_ = s.verifyServer(final)
		}
	})
}
