// Package intake turns every shape in which a request event reaches vpngw into
// a list of items, one per CloudEvent, each carrying its own identity.
//
// It understands the envelope only: the CloudEvents 1.0 context attributes and
// where the data is. What the data says (the CreateVpnGateway parameters) is
// internal/request's business. The runtime edges (Function Compute, AWS Lambda,
// plain HTTP) import this package; nothing below them does.
//
// # Shapes
//
// FromPayload reads a Function Compute event invocation: one structured
// CloudEvent object (EventBridge event-driven mode), a JSON array of them
// (event-streaming mode), or a JSON array of strings that each hold one
// CloudEvent (event-streaming from a Kafka source). Objects and strings may be
// mixed in one array; each element stands alone.
//
// FromHTTP reads CloudEvents over HTTP in binary, structured and batch mode.
//
// # Errors
//
// Two levels, so that one bad event never sinks its neighbours:
//
//   - An *Error means the delivery as a whole could not be read (not JSON, too
//     large, a content type that is not CloudEvents). Its Kind maps to an HTTP
//     status (400, 413, 415).
//   - Item.Err (an *EventError) means that one event is malformed. Its
//     Identity is filled as far as the event gave it, so that the failure can
//     still be announced under the request's name. The problems are
//     events.FieldError values, ready to go into an io.vpngw.gateway.failed
//     event.
//
// # Decisions
//
// The envelope is parsed with encoding/json into a map and every attribute is
// handled explicitly, rather than through github.com/cloudevents/sdk-go. That
// keeps attribute names case-sensitive as the JSON format requires, keeps
// extension values as the exact JSON text they arrived in (aliyunpublishtime is
// not always RFC 3339, so a typed timestamp would lose or reject it), reports
// every problem of an event at once instead of the first, and avoids two
// failure modes of the SDK: its receiver rejects batch mode, and one binary
// header with a hyphen after "ce-" makes it drop the whole message. The SDK is
// still used in the tests, to prove that what it sends is read here.
//
// Choices where the spec leaves room or real senders stray from it:
//
//   - data that is a JSON string holding a JSON object is unwrapped (one
//     level). EventBridge delivers some events with the object escaped into a
//     string. A string can never be a valid CreateVpnGateway request, so
//     unwrapping cannot change the meaning of a valid event.
//   - An absent datacontenttype means JSON. application/json, text/json and
//     any +json type are JSON; a charset other than UTF-8 is refused.
//   - Extension values are kept as strings: a JSON string as its content, a
//     number or boolean as its JSON text (1.50 stays "1.50"). null means
//     absent. An object or array is not a CloudEvents type and is an error.
//   - Attribute names that are not CloudEvents names (lower-case letters and
//     digits) are not attributes: they are skipped and listed in Item.Ignored.
//     In binary mode this covers headers such as Ce-Fc-Code-Checksum, which
//     Function Compute adds; renaming them to a sanitised name could collide
//     with a real attribute, so they are not kept.
//   - Binary-mode header values are unquoted and percent-decoded once, as the
//     HTTP binding (1.0.2) requires, so that an event's identity is the same
//     whichever mode carried it. A "%" not followed by two hex digits, and any
//     raw space or non-ASCII byte, is kept literally, since some senders do
//     not encode at all: sdk-go v2 and sdk-java send values raw
//     (cloudevents/sdk-go#1331). Such a sender's value that holds "%XX" is
//     therefore read decoded; the spec's rule is under discussion
//     (cloudevents/spec#1397); decodeHeaderValue is the one place to change.
//   - The trace context comes from the traceparent attribute (ce-traceparent in
//     binary mode), not from the W3C traceparent header, which describes the
//     HTTP hop rather than the event. A value that is not a W3C traceparent
//     is dropped (the trace restarts), not refused; one of a later version is
//     cut to its first 55 characters, as Trace Context says.
//   - An empty batch is not an error: it holds no work. The HTTP binding says a
//     batch may be empty, and failing it would only make the sender retry.
//   - A batch holds at most MaxBatch events; FromHTTP reads at most maxBody
//     bytes (DefaultMaxBody when maxBody <= 0).
//   - The type attribute is required but not interpreted: the caller decides
//     which types it handles.
//   - Duplicate ids within one delivery are passed through; deduplication is
//     the store's job, as at-least-once delivery repeats events across
//     deliveries anyway.
package intake
