package outcome

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/textcut"
)

// ID is the CloudEvent id of the outcome of type typ for the request with
// key: a UUID-shaped digest, so it is the same however often it is computed.
func ID(requestKey, typ string) string {
	var in [160]byte // on the stack for the keys vpngw makes
	sum := sha256.Sum256(append(append(append(in[:0], requestKey...), '\n'), typ...))
	var h [32]byte
	hex.Encode(h[:], sum[:16])
	var id [36]byte
	copy(id[0:8], h[0:8])
	copy(id[9:13], h[8:12])
	copy(id[14:18], h[12:16])
	copy(id[19:23], h[16:20])
	copy(id[24:36], h[20:32])
	id[8], id[13], id[18], id[23] = '-', '-', '-', '-'
	return string(id[:])
}

// Meta is what every outcome carries besides its data.
type Meta struct {
	RequestKey  string
	Subject     string // the gateway id where known
	TraceParent string // passed through from the request
	Time        time.Time
	// Part tells apart outcomes of one type for one request (each expiry
	// warning): the id is then ID(RequestKey, typ+"/"+Part).
	Part string
}

// New builds the outcome of type typ with data. The data of every outcome
// type is bounded first (events.Failed.Bounded, events.BatchCompleted.Bounded,
// events.Accepted.Bounded, events.Active.Bounded, events.Validated.Bounded),
// so no outcome outgrows events.MaxOutcomeBytes and a broker refuses none
// for its size. An event still over the bound (data of another type) is an
// error, not an event: it is never written to the outbox, where it would
// only be parked.
func New(typ string, m Meta, data any) (outgoing.Event, error) {
	switch d := data.(type) {
	case events.Failed:
		data = d.Bounded()
	case events.BatchCompleted:
		data = d.Bounded()
	case events.Accepted:
		data = d.Bounded()
	case events.Active:
		data = d.Bounded()
	case events.Validated:
		data = d.Bounded()
	}
	e := event.New()
	idType := typ
	if m.Part != "" {
		idType += "/" + m.Part
	}
	e.SetID(ID(m.RequestKey, idType))
	e.SetSource(events.Source)
	e.SetType(typ)
	e.SetTime(m.Time.UTC())
	if m.Subject != "" {
		e.SetSubject(textcut.Cut(m.Subject, maxSubject))
	}
	if m.TraceParent != "" {
		e.SetExtension("traceparent", m.TraceParent)
	}
	if err := e.SetData(events.ContentType, data); err != nil {
		return outgoing.Event{}, fmt.Errorf("encode %s data: %w", typ, err)
	}
	if err := e.Validate(); err != nil {
		return outgoing.Event{}, fmt.Errorf("build %s event: %w", typ, err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return outgoing.Event{}, fmt.Errorf("encode %s event: %w", typ, err)
	}
	if len(body) > events.MaxOutcomeBytes {
		return outgoing.Event{}, fmt.Errorf("%s event is %d bytes, over the bound of %d (events.MaxOutcomeBytes): its data of type %T is not bounded", typ, len(body), events.MaxOutcomeBytes, data)
	}
	return outgoing.Event{ID: e.ID(), Type: typ, Body: body}, nil
}

// maxSubject bounds the subject attribute: a gateway id, far shorter.
const maxSubject = 256
