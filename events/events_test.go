package events_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// eventTypes maps every event type to a new value of its data's Go type.
var eventTypes = map[string]func() any{
	events.TypeRequested: func() any { return new(events.GatewayRequest) },
	events.TypeAccepted:  func() any { return new(events.Accepted) },
	events.TypeFailed:    func() any { return new(events.Failed) },
	events.TypeActive:    func() any { return new(events.Active) },
	events.TypeValidated: func() any { return new(events.Validated) },

	events.TypeBatchRequested: func() any { return new(events.BatchRequest) },
	events.TypeBatchCompleted: func() any { return new(events.BatchCompleted) },

	events.TypeDeleteRequested: func() any { return new(events.DeleteRequest) },
	events.TypeDeleted:         func() any { return new(events.Deleted) },
	events.TypeExpiring:        func() any { return new(events.Expiring) },
	events.TypeOrphaned:        func() any { return new(events.Orphaned) },
}

// isRequestType reports whether events of type typ come from senders; every
// other type is an outcome vpngw emits.
func isRequestType(typ string) bool {
	return typ == events.TypeRequested || typ == events.TypeBatchRequested || typ == events.TypeDeleteRequested
}

// sample is one file of events.Samples.
type sample struct {
	name  string // file name, without testdata/
	raw   []byte // the whole CloudEvent
	attrs map[string]json.RawMessage
	typ   string
	data  []byte // from data, or data_base64 decoded
}

func (s sample) attr(name string) string {
	var v string
	_ = json.Unmarshal(s.attrs[name], &v)
	return v
}

func loadSamples(t *testing.T) []sample {
	t.Helper()
	names, err := fs.Glob(events.Samples, "testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	for _, n := range names {
		raw, err := events.Samples.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		s := sample{name: strings.TrimPrefix(n, "testdata/"), raw: raw}
		if err := json.Unmarshal(raw, &s.attrs); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		s.typ = s.attr("type")
		switch {
		case s.attrs["data"] != nil:
			s.data = s.attrs["data"]
		case s.attrs["data_base64"] != nil:
			s.data, err = base64.StdEncoding.DecodeString(s.attr("data_base64"))
			if err != nil {
				t.Fatalf("%s: data_base64: %v", n, err)
			}
		default:
			t.Fatalf("%s has no data", n)
		}
		out = append(out, s)
	}
	return out
}

func TestSamplesCoverEveryType(t *testing.T) {
	samples := loadSamples(t)
	for typ := range eventTypes {
		i := slices.IndexFunc(samples, func(s sample) bool { return s.name == typ+".json" })
		if i < 0 {
			t.Errorf("no sample %s.json", typ)
			continue
		}
		if samples[i].typ != typ {
			t.Errorf("%s.json has type %q", typ, samples[i].typ)
		}
	}
	for _, want := range []string{"requested.json", "requested-eventbridge.json", "requested-base64.json", "requested-invalid.json"} {
		if !slices.ContainsFunc(samples, func(s sample) bool { return s.name == want }) {
			t.Errorf("no sample %s", want)
		}
	}
}

// TestSamplesAreCloudEvents reads every sample with the CloudEvents SDK, the
// way a receiver does.
func TestSamplesAreCloudEvents(t *testing.T) {
	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			var e event.Event
			if err := json.Unmarshal(s.raw, &e); err != nil {
				t.Fatalf("CloudEvents SDK cannot read it: %v", err)
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("not a valid CloudEvent: %v", err)
			}
			if _, ok := eventTypes[e.Type()]; !ok {
				t.Fatalf("type %q is not a vpngw event type", e.Type())
			}
			if !bytes.Equal(compact(t, e.Data()), compact(t, s.data)) {
				t.Errorf("the SDK reads other data:\n%s\nwant\n%s", e.Data(), s.data)
			}
		})
	}
}

// TestEventBridgeSample keeps the EventBridge delivery's peculiarities: the
// aliyun* extension attributes as strings, a content type with parameters.
func TestEventBridgeSample(t *testing.T) {
	s := sampleNamed(t, "requested-eventbridge.json")
	var e event.Event
	if err := json.Unmarshal(s.raw, &e); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"aliyunaccountid", "aliyunpublishtime", "aliyuneventbusname", "aliyunregionid", "aliyunpublishaddr"} {
		if v, ok := e.Extensions()[ext].(string); !ok || v == "" {
			t.Errorf("extension %s = %#v, want a non-empty string", ext, e.Extensions()[ext])
		}
	}
	if got := e.DataContentType(); got != "application/json;charset=utf-8" {
		t.Errorf("datacontenttype = %q", got)
	}
	if b := sampleNamed(t, "requested-base64.json"); b.attrs["data"] != nil || b.attrs["data_base64"] == nil {
		t.Error("requested-base64.json must carry data_base64 only")
	}
}

// TestOutcomeAttributes checks the contract's attribute rules on every event
// vpngw emits: source, content type, id derived from the request, subject =
// the gateway where known, data.Request naming a request sample, and that
// request's traceparent passed through.
func TestOutcomeAttributes(t *testing.T) {
	samples := loadSamples(t)
	for _, s := range samples {
		if isRequestType(s.typ) {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			if got := s.attr("source"); got != events.Source {
				t.Errorf("source = %q, want %q", got, events.Source)
			}
			if got := s.attr("datacontenttype"); got != events.ContentType {
				t.Errorf("datacontenttype = %q, want %q", got, events.ContentType)
			}
			var d struct {
				Request      events.RequestRef
				VpnGatewayId string
				Within       string // an expiry warning's, which its id names
			}
			if err := json.Unmarshal(s.data, &d); err != nil {
				t.Fatal(err)
			}
			if got := s.attr("subject"); got != d.VpnGatewayId {
				t.Errorf("subject = %q, want the gateway id %q", got, d.VpnGatewayId)
			}
			key := request.Identity{Source: d.Request.Source, EventID: d.Request.EventID}.Key()
			idType := s.typ
			if s.typ == events.TypeExpiring {
				idType += "/" + d.Within
			}
			if got, want := s.attr("id"), outcomeID(key, idType); got != want {
				t.Errorf("id = %q, want %q (from the request key and type)", got, want)
			}
			i := slices.IndexFunc(samples, func(r sample) bool {
				return isRequestType(r.typ) && r.attr("source") == d.Request.Source && r.attr("id") == d.Request.EventID
			})
			if i < 0 {
				t.Fatalf("data.Request %+v names no request sample", d.Request)
			}
			req := samples[i]
			if d.Request.Subject != req.attr("subject") {
				t.Errorf("data.Request.Subject = %q, want the request's subject %q", d.Request.Subject, req.attr("subject"))
			}
			if s.attr("traceparent") != req.attr("traceparent") {
				t.Errorf("traceparent = %q, want the request's %q", s.attr("traceparent"), req.attr("traceparent"))
			}
		})
	}
}

// outcomeID is the id rule of README.md ("CloudEvent attributes"), as
// internal/outcome implements it: a UUID-shaped SHA-256 of the request key
// and the event type, so every retry of one outcome carries one id.
func outcomeID(requestKey, eventType string) string {
	sum := sha256.Sum256([]byte(requestKey + "\n" + eventType))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// TestSamplesRoundTrip decodes every sample's data strictly into its Go type,
// encodes it again, and checks that nothing was lost or added, against the
// sample and against a golden file (go test -update rewrites those).
func TestSamplesRoundTrip(t *testing.T) {
	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			v := eventTypes[s.typ]()
			if err := events.DecodeData(s.data, v); err != nil {
				t.Fatalf("strict decode: %v", err)
			}
			out, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(decodeJSON(out), decodeJSON(s.data)) {
				t.Errorf("round trip changed the data:\n%s\nwant\n%s", out, s.data)
			}
			golden(t, strings.TrimSuffix(s.name, ".json")+".golden", append(out, '\n'))
		})
	}
}

// TestInvalidSampleErrors keeps the errors of the invalid sample as a golden
// file: they are what a sender of that request is told.
func TestInvalidSampleErrors(t *testing.T) {
	s := sampleNamed(t, "requested-invalid.json")
	_, err := request.Parse(s.data)
	var perr *request.Error
	if !errors.As(err, &perr) {
		t.Fatalf("Parse = %v, want *request.Error", err)
	}
	out, _ := json.MarshalIndent(perr.Errors, "", "  ")
	golden(t, "requested-invalid.errors.golden", append(out, '\n'))

	// The failed sample answers the invalid one with the same fields.
	var f events.Failed
	if err := events.DecodeData(sampleNamed(t, events.TypeFailed+".json").data, &f); err != nil {
		t.Fatal(err)
	}
	if got, want := fieldValues(f.Errors), fieldValues(perr.Errors); !slices.Equal(got, want) {
		t.Errorf("failed sample lists %v, Parse gives %v", got, want)
	}
}

// sampleOutcome reads the request sample named requested and the sample of
// the outcome of type typ, whose data it decodes into data; it answers the
// request's parameters and identity.
func sampleOutcome(t *testing.T, requested, typ string, data any) (events.GatewayRequest, request.Identity) {
	t.Helper()
	req := sampleNamed(t, requested)
	r, err := request.Parse(req.data)
	if err != nil {
		t.Fatal(err)
	}
	if err := events.DecodeData(sampleNamed(t, typ+".json").data, data); err != nil {
		t.Fatal(err)
	}
	return r, request.Identity{Source: req.attr("source"), EventID: req.attr("id")}
}

// TestValidatedSample checks the dry-run sample shows what request would make
// of the minimal request: its normalised parameters and derived token.
func TestValidatedSample(t *testing.T) {
	var v events.Validated
	r, id := sampleOutcome(t, "requested.json", events.TypeValidated, &v)
	if !reflect.DeepEqual(v.Parameters, request.Normalize(r)) {
		t.Errorf("Parameters = %+v, want request.Normalize of the minimal request", v.Parameters)
	}
	if v.ClientToken != request.ClientToken(id, "", r) || !v.WouldCreate || v.Request != id.Ref() {
		t.Errorf("validated sample = %+v", v)
	}
}

// TestAcceptedSample checks the accepted sample shows the token vpngw sends
// for the full request sample, which gives a ClientToken of its own.
func TestAcceptedSample(t *testing.T) {
	var a events.Accepted
	r, id := sampleOutcome(t, events.TypeRequested+".json", events.TypeAccepted, &a)
	if r.ClientToken == "" || a.ClientToken != request.ClientToken(id, "", r) || a.Request.Source != id.Source || a.Request.EventID != id.EventID {
		t.Errorf("accepted sample: ClientToken %q for request %+v, want %q", a.ClientToken, a.Request, request.ClientToken(id, "", r))
	}
}

func TestDecodeDataRejectsMalformed(t *testing.T) {
	valid := map[string]string{}
	for _, s := range loadSamples(t) {
		if s.name == s.typ+".json" {
			valid[s.typ] = string(compact(t, s.data))
		}
	}
	for typ, newValue := range eventTypes {
		good := valid[typ]
		key, value, rest := firstMember(t, good)
		nested := `"Source"` // in Request
		switch typ {
		case events.TypeRequested:
			nested = `"Key"` // in Tags
		case events.TypeBatchRequested:
			// The items are left raw for internal/request, which reads each
			// on its own (TestDecodeDataLeavesBatchItems); nothing nested is
			// DecodeData's to refuse.
			nested = ""
		}
		cases := []struct {
			name, data, want string
		}{
			{"unknown member", `{"Unexpected":1,` + good[1:], "Unexpected"},
			{"member in the wrong case", `{"` + strings.ToLower(key) + `":` + value + rest, strings.ToLower(key)},
			{"repeated member", `{"` + key + `":` + value + `,` + good[1:], key},
			{"nested unknown member", strings.Replace(good, nested, `"Unexpected":"x",`+nested, 1), "Unexpected"},
			{"trailing content", good + ` {}`, "trailing"},
			{"an array", `["x"]`, "must be a JSON object"},
			{"null", `null`, "must be a JSON object"},
			{"wrong member type", `{"` + key + `":5` + rest, key},
			{"not JSON", `{"` + key + `":`, "unexpected EOF"},
		}
		for _, tc := range cases {
			if nested == "" && strings.Contains(tc.name, "nested") {
				continue
			}
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				if !strings.Contains(tc.data, "Unexpected") && strings.Contains(tc.name, "nested") {
					t.Fatalf("%s sample has no %s to put a member beside", typ, nested)
				}
				err := events.DecodeData([]byte(tc.data), newValue())
				if err == nil {
					t.Fatalf("DecodeData accepted %s", tc.data)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q does not mention %q", err, tc.want)
				}
			})
		}
		if err := events.DecodeData([]byte(good), newValue()); err != nil {
			t.Errorf("%s: DecodeData refused its own sample: %v", typ, err)
		}
	}
	var nilPtr *events.Accepted
	if err := events.DecodeData([]byte(`{}`), nilPtr); err == nil {
		t.Error("DecodeData accepted a nil pointer")
	}
}

// firstMember splits a compact JSON object into its first member's name and
// value and what follows them (starting at the comma or closing brace).
func firstMember(t *testing.T, obj string) (name, value, rest string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	tok, err := dec.Token()
	if err != nil {
		t.Fatal(err)
	}
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	end := int(dec.InputOffset())
	return tok.(string), string(raw), obj[end:]
}

func sampleNamed(t *testing.T, name string) sample {
	t.Helper()
	for _, s := range loadSamples(t) {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no sample %s", name)
	return sample{}
}

func fieldValues(errs []events.FieldError) []string {
	var out []string
	for _, fe := range errs {
		out = append(out, fe.Field+"="+fe.Value)
	}
	return out
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact %s: %v", b, err)
	}
	return buf.Bytes()
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test ./events -update writes it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s\nwant\n%s", name, got, want)
	}
}
