// Package kafkawire is the Kafka producer behind the queue package's Kafka
// sink: just enough of the Kafka wire protocol to write records to one
// topic, idempotently, with acks=all. Only internal/queue imports it.
//
// It exists for size: a general client (franz-go, with its consumer,
// admin, transactions and compression codecs) was a fifth of each
// function's zip, and vpngw only produces small events one at a time.
// franz-go stays in the tests, as the broker (kfake) and as the consumer
// that reads back what this package wrote.
//
// What it speaks, each version negotiated through ApiVersions (v2) as the
// highest both sides serve:
//
//	Produce v3-v8          record batch v2 (magic 2), CRC-32C, no compression
//	Metadata v4-v8         brokers and the topic's partition leaders
//	InitProducerId v0-v1   producer id and epoch, no transactional id
//	SaslHandshake v1, SaslAuthenticate v0-v1   PLAIN, SCRAM-SHA-256/512
//
// Kafka 4.0 removed the versions older clients used (KIP-896) and keeps
// what a Kafka 2.1 client sends; these ranges are served from 2.1 to 4.x.
//
// Delivery: records are sent one at a time in the order Produce was called,
// each as a batch of one on the partition its key hashes to (murmur2, as
// Kafka's default partitioner and franz-go's key partitioner choose). A
// batch is built once and resent byte for byte, with the same producer id,
// epoch and sequence, while the broker's answer is retriable or missing,
// so the broker writes it once however often it is sent. A broker that
// lost the producer's state (UNKNOWN_PRODUCER_ID, OUT_OF_ORDER_SEQUENCE)
// gets a new producer id. Non-retriable answers (MESSAGE_TOO_LARGE,
// TOPIC_AUTHORIZATION_FAILED, a failed authentication) fail the record and
// the producer goes on with the next. A topic that does not exist is
// waited for: the operator creates it.
package kafkawire
