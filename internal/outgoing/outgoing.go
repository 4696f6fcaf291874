package outgoing

// Event is one CloudEvent ready to publish.
type Event struct {
	ID   string // the CloudEvent id: deterministic per request and outcome
	Type string // the CloudEvent type, e.g. io.vpngw.gateway.active
	Body []byte // the event in structured mode (application/cloudevents+json)
	// Key is the request's identity (the store's request key), set by the
	// outbox drain, for sinks that keep a request's events together (a
	// Kafka record key).
	Key string
}
