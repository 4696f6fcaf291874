package kafkawire

// partitionFor is the partition a keyed record goes to among n, as Kafka's
// default partitioner (and franz-go's StickyKeyPartitioner, which vpngw
// used before) chooses it: murmur2 of the key, the sign bit cleared,
// modulo n. The same key always lands on the same partition while the
// topic's partition count stays the same.
func partitionFor(key []byte, n int) int32 {
	return int32(int(murmur2(key)&0x7fffffff) % n)
}

// murmur2 is the 32-bit MurmurHash2 with Kafka's seed, as
// org.apache.kafka.common.utils.Utils.murmur2 computes it.
func murmur2(b []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	h := seed ^ uint32(len(b))
	for len(b) >= 4 {
		k := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		b = b[4:]
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
