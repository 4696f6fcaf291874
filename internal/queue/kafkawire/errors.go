package kafkawire

import (
	"errors"
	"fmt"
)

// Error is an error code a broker answered with. Match a particular code
// with errors.Is against one of the variables below.
type Error struct {
	Code    int16
	Message string // the broker's own words, when it sent any
}

// Error names the code as Kafka does (MESSAGE_TOO_LARGE) and adds the
// broker's message.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s (Kafka error %d)", codeName(e.Code), e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches another *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Retriable reports whether Kafka defines the code as retriable: the same
// request may succeed later (a leader moving, a replica catching up).
func (e *Error) Retriable() bool { return codes[e.Code].retriable }

// Error codes the producer tells apart.
var (
	ErrCorruptMessage       = &Error{Code: 2}
	ErrUnknownTopic         = &Error{Code: 3}
	ErrMessageTooLarge      = &Error{Code: 10}
	ErrRecordListTooLarge   = &Error{Code: 18}
	ErrInvalidRecord        = &Error{Code: 87}
	ErrSASLAuthentication   = &Error{Code: 58}
	errOutOfOrderSequence   = &Error{Code: 45}
	errDuplicateSequence    = &Error{Code: 46}
	errInvalidProducerEpoch = &Error{Code: 47}
	errUnknownProducerID    = &Error{Code: 59}
)

// errCode is the error a response's code stands for, nil for 0.
func errCode(code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	e := &Error{Code: code}
	if msg != nil {
		e.Message = *msg
	}
	return e
}

// codes names the codes a producer meets and says which are retriable, as
// Kafka's org.apache.kafka.common.protocol.Errors does.
var codes = map[int16]struct {
	name      string
	retriable bool
}{
	-1: {"UNKNOWN_SERVER_ERROR", false},
	2:  {"CORRUPT_MESSAGE", true},
	3:  {"UNKNOWN_TOPIC_OR_PARTITION", true},
	5:  {"LEADER_NOT_AVAILABLE", true},
	6:  {"NOT_LEADER_OR_FOLLOWER", true},
	7:  {"REQUEST_TIMED_OUT", true},
	10: {"MESSAGE_TOO_LARGE", false},
	13: {"NETWORK_EXCEPTION", true},
	14: {"COORDINATOR_LOAD_IN_PROGRESS", true},
	15: {"COORDINATOR_NOT_AVAILABLE", true},
	16: {"NOT_COORDINATOR", true},
	17: {"INVALID_TOPIC_EXCEPTION", false},
	18: {"RECORD_LIST_TOO_LARGE", false},
	19: {"NOT_ENOUGH_REPLICAS", true},
	20: {"NOT_ENOUGH_REPLICAS_AFTER_APPEND", true},
	21: {"INVALID_REQUIRED_ACKS", false},
	29: {"TOPIC_AUTHORIZATION_FAILED", false},
	31: {"CLUSTER_AUTHORIZATION_FAILED", false},
	33: {"UNSUPPORTED_SASL_MECHANISM", false},
	34: {"ILLEGAL_SASL_STATE", false},
	35: {"UNSUPPORTED_VERSION", false},
	45: {"OUT_OF_ORDER_SEQUENCE_NUMBER", false},
	46: {"DUPLICATE_SEQUENCE_NUMBER", false},
	47: {"INVALID_PRODUCER_EPOCH", false},
	56: {"KAFKA_STORAGE_ERROR", true},
	58: {"SASL_AUTHENTICATION_FAILED", false},
	59: {"UNKNOWN_PRODUCER_ID", false},
	74: {"FENCED_LEADER_EPOCH", true},
	75: {"UNKNOWN_LEADER_EPOCH", true},
	87: {"INVALID_RECORD", false},
	89: {"THROTTLING_QUOTA_EXCEEDED", true},
}

func codeName(code int16) string {
	if c, ok := codes[code]; ok {
		return c.name
	}
	return "UNKNOWN_ERROR_CODE"
}

// retriable reports whether err may go away by itself: a retriable code, or
// a connection that failed (the request may or may not have been applied).
func retriable(err error) bool {
	var ke *Error
	if errors.As(err, &ke) {
		return ke.Retriable()
	}
	var ce *connError
	return errors.As(err, &ce)
}
