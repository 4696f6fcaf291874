package intake_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
)

const ebSource = "acs:eventbridge:cn-hangzhou:123:/custom/vpngw"

func TestFromPayloadShapes(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    []want
	}{
		{
			name:    "EventBridge event-driven, aliyun extensions and charset",
			payload: testdata(t, "eventbridge-event-driven.json"),
			want: []want{{
				identity:    request.Identity{Source: ebSource, EventID: "45ef4dew-7c35-447a", Subject: "acs.eventbridge:cn-hangzhou:123:custom/vpngw/team-a"},
				typ:         events.TypeRequested,
				time:        "2020-11-19T21:04:41+08:00",
				traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				data:        `{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1ub1yt9cvakoelj****","Bandwidth":10,"Name":"team-a-gw","Tags":[{"Key":"team","Value":"a"}]}`,
				extensions: map[string]string{
					"aliyunaccountid":         "123",
					"aliyunpublishtime":       "2020-11-19T21:04:42.179Z",
					"aliyuneventbusname":      "default",
					"aliyunregionid":          "cn-hangzhou",
					"aliyunpublishaddr":       "172.25.0.1",
					"aliyunoriginalaccountid": "456",
				},
			}},
		},
		{
			name:    "EventBridge data as an escaped string, publish time in epoch ms",
			payload: testdata(t, "eventbridge-data-string.json"),
			want: []want{{
				identity: request.Identity{Source: ebSource, EventID: "7a1c-data-string"},
				typ:      events.TypeRequested,
				data:     `{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1ub1yt9cvakoelj****","Bandwidth":5}`,
				extensions: map[string]string{
					"aliyunaccountid": "123", "aliyunpublishtime": "1605791082179", "aliyuneventbusname": "default",
					"aliyunregionid": "cn-hangzhou", "aliyunpublishaddr": "172.25.0.1",
				},
			}},
		},
		{
			name:    "data_base64",
			payload: testdata(t, "data-base64.json"),
			want: []want{{
				identity: request.Identity{Source: "/tools/vpngw-cli", EventID: "b64-1"},
				typ:      events.TypeRequested,
				data:     `{"RegionId":"cn-hangzhou","VpcId":"vpc-1","Bandwidth":20}`,
			}},
		},
		{
			name:    "event-streaming array of 3, the middle one malformed",
			payload: testdata(t, "event-streaming.json"),
			want: []want{
				{
					identity:   request.Identity{Source: ebSource, EventID: "stream-0"},
					typ:        events.TypeRequested,
					data:       `{"RegionId":"cn-hangzhou","VpcId":"vpc-0","Bandwidth":5}`,
					extensions: map[string]string{"aliyunpublishtime": "2024-03-01T10:00:00.100Z", "aliyuneventbusname": "default"},
				},
				{
					identity: request.Identity{Source: ebSource, EventID: "stream-1"},
					typ:      events.TypeRequested,
					problems: []string{`specversion|specversion "0.3": only "1.0" is supported`},
				},
				{
					identity: request.Identity{Source: ebSource, EventID: "stream-2"},
					typ:      events.TypeRequested,
					data:     `{"RegionId":"cn-shanghai","VpcId":"vpc-2","Bandwidth":10}`,
				},
			},
		},
		{
			name:    "Kafka event-streaming: array of strings",
			payload: testdata(t, "kafka-streaming.json"),
			want: []want{
				{
					identity: request.Identity{Source: "acs:alikafka", EventID: "kafka-0", Subject: "acs:alikafka:alikafka_pre-cn-i7m2msb9****:topic:vpngw"},
					typ:      events.TypeRequested,
					data:     `{"RegionId":"cn-hangzhou","VpcId":"vpc-k0","Bandwidth":5}`,
					extensions: map[string]string{
						"aliyunaccountid": "123", "aliyunpublishtime": "2024-03-01T10:00:00.100Z",
						"aliyuneventbusname": "vpngw", "aliyunregionid": "cn-hangzhou",
					},
				},
				{
					identity: request.Identity{Source: "acs:alikafka", EventID: "kafka-1"},
					typ:      events.TypeRequested,
					data:     `{"RegionId":"cn-hangzhou","VpcId":"vpc-k1","Bandwidth":10}`,
				},
			},
		},
		{
			name: "mixed array: object, string, and elements that are no event",
			payload: []byte(`[{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{}},` +
				`"{\"specversion\":\"1.0\",\"id\":\"b\",\"source\":\"/s\",\"type\":\"t\",\"data\":{}}",` +
				`42, null, "not json", "[1]", []]`),
			want: []want{
				{identity: request.Identity{Source: "/s", EventID: "a"}, typ: "t", data: `{}`},
				{identity: request.Identity{Source: "/s", EventID: "b"}, typ: "t", data: `{}`},
				{problems: []string{"event|event 2: a JSON number; want a CloudEvent JSON object, or a string holding one"}},
				{problems: []string{"event|event 3: JSON null"}},
				{problems: []string{"event|event 4: a string holding not valid JSON"}},
				{problems: []string{"event|event 5: a string holding a JSON array"}},
				{problems: []string{"event|event 6: a JSON array"}},
			},
		},
		{
			name:    "leading byte order mark and surrounding whitespace",
			payload: []byte("\xef\xbb\xbf \n\t" + `{"specversion":"1.0","id":"bom","source":"/s","type":"t","data":{"VpcId":"v"}}` + "\n"),
			want:    []want{{identity: request.Identity{Source: "/s", EventID: "bom"}, typ: "t", data: `{"VpcId":"v"}`}},
		},
		{
			name:    "type is passed through uninterpreted",
			payload: []byte(`{"specversion":"1.0","id":"x","source":"/s","type":"io.vpngw.gateway.batch.requested","data":{}}`),
			want:    []want{{identity: request.Identity{Source: "/s", EventID: "x"}, typ: "io.vpngw.gateway.batch.requested", data: `{}`}},
		},
		{
			name:    "empty array holds no work",
			payload: []byte(` [ ] `),
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := intake.FromPayload(tt.payload)
			checkItems(t, "FromPayload", items, err, tt.want)
		})
	}
}

func TestFromPayloadEnvelopeErrors(t *testing.T) {
	oneEvent := `{"specversion":"1.0","id":"x","source":"/s","type":"t","data":{}}`
	tests := []struct {
		name    string
		payload string
		kind    intake.Kind
		msg     string
	}{
		{"empty", "", intake.Malformed, "payload is empty"},
		{"whitespace only", " \n\t ", intake.Malformed, "payload is empty"},
		{"not JSON", "hello", intake.Malformed, "payload is not valid JSON (invalid character 'h'"},
		{"truncated object", `{"specversion":"1.0","id":`, intake.Malformed, "payload is not valid JSON"},
		{"trailing garbage", oneEvent + `}`, intake.Malformed, "payload is not valid JSON"},
		{"two objects", oneEvent + oneEvent, intake.Malformed, "payload is not valid JSON"},
		{"truncated array", `[` + oneEvent + `,`, intake.Malformed, "payload is not valid JSON"},
		{"a JSON string", `"{\"id\":\"x\"}"`, intake.Malformed, "payload is a JSON string; want a CloudEvent JSON object"},
		{"a number", `12`, intake.Malformed, "payload is a JSON number"},
		{"null", `null`, intake.Malformed, "payload is JSON null"},
		{"too many events", "[" + strings.TrimSuffix(strings.Repeat(oneEvent+",", intake.MaxBatch+1), ",") + "]",
			intake.TooLarge, fmt.Sprintf("payload holds %d events; at most %d", intake.MaxBatch+1, intake.MaxBatch)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := intake.FromPayload([]byte(tt.payload))
			if items != nil {
				t.Errorf("items = %+v, want none", items)
			}
			checkEnvelopeError(t, err, tt.kind, tt.msg)
		})
	}
}

func TestFromPayloadAcceptsFullBatch(t *testing.T) {
	items, err := intake.FromPayload(fullBatch(func(i int) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":"e%d","source":"/s","type":"t","data":{"N":%d}}`, i, i)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != intake.MaxBatch {
		t.Fatalf("got %d items, want %d", len(items), intake.MaxBatch)
	}
	for i, it := range items {
		if it.Err != nil || it.Index != i || it.Identity.EventID != fmt.Sprintf("e%d", i) || string(it.Data) != fmt.Sprintf(`{"N":%d}`, i) {
			t.Fatalf("item %d = %+v", i, it)
		}
	}
}

// TestFromPayloadAttributeErrors breaks a valid event one way at a time and
// checks the problem reported, and that the identity survives as far as the
// event gave it.
func TestFromPayloadAttributeErrors(t *testing.T) {
	fullID := request.Identity{Source: "/tests", EventID: "req-1", Subject: "team-a"}
	tests := []struct {
		name     string
		mutate   func(m map[string]any)
		identity request.Identity
		typ      string
		problems []string
	}{
		{"specversion 0.3", func(m map[string]any) { m["specversion"] = "0.3" }, fullID, events.TypeRequested,
			[]string{`specversion|specversion "0.3": only "1.0" is supported`}},
		{"specversion missing", func(m map[string]any) { delete(m, "specversion") }, fullID, events.TypeRequested,
			[]string{`specversion|specversion: missing; want "1.0"`}},
		{"specversion a number", func(m map[string]any) { m["specversion"] = 1.0 }, fullID, events.TypeRequested,
			[]string{`specversion|specversion: a JSON number; want "1.0"`}},
		{"id missing", func(m map[string]any) { delete(m, "id") }, request.Identity{Source: "/tests", Subject: "team-a"}, events.TypeRequested,
			[]string{"id|id: missing; want a non-empty string"}},
		{"id empty", func(m map[string]any) { m["id"] = "" }, request.Identity{Source: "/tests", Subject: "team-a"}, events.TypeRequested,
			[]string{"id|id: empty; want a non-empty string"}},
		{"id null counts as missing", func(m map[string]any) { m["id"] = nil }, request.Identity{Source: "/tests", Subject: "team-a"}, events.TypeRequested,
			[]string{"id|id: missing"}},
		{"id a number", func(m map[string]any) { m["id"] = 7 }, request.Identity{Source: "/tests", Subject: "team-a"}, events.TypeRequested,
			[]string{"id|id: a JSON number; want a non-empty string"}},
		{"source missing", func(m map[string]any) { delete(m, "source") }, request.Identity{EventID: "req-1", Subject: "team-a"}, events.TypeRequested,
			[]string{"source|source: missing; want a non-empty string"}},
		{"source an object", func(m map[string]any) { m["source"] = map[string]any{"a": 1} }, request.Identity{EventID: "req-1", Subject: "team-a"}, events.TypeRequested,
			[]string{"source|source: a JSON object; want a non-empty string"}},
		{"type missing", func(m map[string]any) { delete(m, "type") }, fullID, "",
			[]string{`type|type: missing; want a non-empty string such as "io.vpngw.gateway.requested"`}},
		{"type empty", func(m map[string]any) { m["type"] = "" }, fullID, "",
			[]string{"type|type: empty"}},
		{"subject not a string", func(m map[string]any) { m["subject"] = true }, request.Identity{Source: "/tests", EventID: "req-1"}, events.TypeRequested,
			[]string{"subject|subject: a JSON boolean; want a string"}},
		{"time not a string", func(m map[string]any) { m["time"] = 1605791082 }, fullID, events.TypeRequested,
			[]string{"time|time: a JSON number; want a string"}},
		{"time not RFC 3339", func(m map[string]any) { m["time"] = "2025-01-15 08:00:00" }, fullID, events.TypeRequested,
			[]string{`time|time "2025-01-15 08:00:00": not an RFC 3339 timestamp`}},
		{"time a date only", func(m map[string]any) { m["time"] = "2025-01-15" }, fullID, events.TypeRequested,
			[]string{`time|time "2025-01-15": not an RFC 3339 timestamp`}},
		{"time out of range", func(m map[string]any) { m["time"] = "2025-02-30T08:00:00Z" }, fullID, events.TypeRequested,
			[]string{`time|not an RFC 3339 timestamp`}},
		{"traceparent not a string", func(m map[string]any) { m["traceparent"] = []any{} }, fullID, events.TypeRequested,
			[]string{"traceparent|traceparent: a JSON array; want a string"}},
		{"datacontenttype text/plain", func(m map[string]any) { m["datacontenttype"] = "text/plain" }, fullID, events.TypeRequested,
			[]string{`datacontenttype|datacontenttype "text/plain": not JSON; want application/json, text/json or a +json type`}},
		{"datacontenttype latin-1 JSON", func(m map[string]any) { m["datacontenttype"] = "application/json; charset=ISO-8859-1" }, fullID, events.TypeRequested,
			[]string{`datacontenttype|charset "ISO-8859-1": only UTF-8 is supported`}},
		{"datacontenttype unparsable", func(m map[string]any) { m["datacontenttype"] = "application/" }, fullID, events.TypeRequested,
			[]string{`datacontenttype|datacontenttype "application/": not a media type`}},
		{"data and data_base64", func(m map[string]any) { m["data_base64"] = "e30=" }, fullID, events.TypeRequested,
			[]string{"data|data and data_base64: both present"}},
		{"data missing", func(m map[string]any) { delete(m, "data") }, fullID, events.TypeRequested,
			[]string{"data|data: missing; want a JSON object of CreateVpnGateway parameters"}},
		{"data null", func(m map[string]any) { m["data"] = nil }, fullID, events.TypeRequested,
			[]string{"data|data: missing"}},
		{"data an array", func(m map[string]any) { m["data"] = []any{map[string]any{"VpcId": "v"}} }, fullID, events.TypeRequested,
			[]string{"data|data: a JSON array; want a JSON object"}},
		{"data a number", func(m map[string]any) { m["data"] = 5 }, fullID, events.TypeRequested,
			[]string{"data|data: a JSON number; want a JSON object"}},
		{"data a string without an object", func(m map[string]any) { m["data"] = "RegionId=cn-hangzhou" }, fullID, events.TypeRequested,
			[]string{"data|data: a JSON string that does not hold a JSON object"}},
		{"data a string holding a broken object", func(m map[string]any) { m["data"] = `{"RegionId":` }, fullID, events.TypeRequested,
			[]string{"data|data: a JSON string that does not hold a JSON object"}},
		{"data_base64 invalid", func(m map[string]any) { delete(m, "data"); m["data_base64"] = "e30*" }, fullID, events.TypeRequested,
			[]string{"data_base64|data_base64: invalid base64 (illegal base64 data at input byte 3)"}},
		{"data_base64 not a string", func(m map[string]any) { delete(m, "data"); m["data_base64"] = 12 }, fullID, events.TypeRequested,
			[]string{"data_base64|data_base64: a JSON number; want a base64 string"}},
		{"data_base64 holding no JSON", func(m map[string]any) { delete(m, "data"); m["data_base64"] = "aGVsbG8=" }, fullID, events.TypeRequested,
			[]string{"data_base64|data_base64: not valid JSON"}},
		{"data_base64 holding an array", func(m map[string]any) { delete(m, "data"); m["data_base64"] = "W10=" }, fullID, events.TypeRequested,
			[]string{"data_base64|data_base64: a JSON array"}},
		{"extension an object", func(m map[string]any) { m["aliyunextra"] = map[string]any{"a": 1} }, fullID, events.TypeRequested,
			[]string{"aliyunextra|aliyunextra: a JSON object; extension attributes must be a string, number or boolean"}},
		{"several problems, reported in a fixed order", func(m map[string]any) {
			m["specversion"] = "0.2"
			delete(m, "id")
			m["type"] = ""
			m["data"] = []any{}
			m["zext"] = []any{}
			m["aext"] = map[string]any{}
		}, request.Identity{Source: "/tests", Subject: "team-a"}, "", []string{
			"specversion|only", "id|missing", "type|empty", "data|a JSON array", "aext|a JSON object", "zext|a JSON array",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := baseEvent()
			tt.mutate(m)
			items, err := intake.FromPayload(mustJSON(t, m))
			if err != nil {
				t.Fatalf("FromPayload: %v", err)
			}
			if len(items) != 1 {
				t.Fatalf("got %d items", len(items))
			}
			checkItem(t, items[0], 0, want{identity: tt.identity, typ: tt.typ, problems: tt.problems})
		})
	}
}

func TestFromPayloadNonJSONDataIsOnlyContentTypeError(t *testing.T) {
	// With a non-JSON datacontenttype, the data's own shape is beside the
	// point: one problem, naming the content type, not two.
	m := baseEvent()
	m["datacontenttype"] = "text/xml"
	m["data"] = "<VpcId>v</VpcId>"
	items, err := intake.FromPayload(mustJSON(t, m))
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, items[0].Err, []string{`datacontenttype|"text/xml": not JSON`})
	var fe = items[0].Err.(*intake.EventError).Problems[0]
	if fe.Value != "text/xml" || fe.Allowed == "" {
		t.Errorf("problem = %+v, want Value text/xml and an Allowed text", fe)
	}
}

// withMediaType is what FromPayload makes of the base event with
// datacontenttype ct.
func withMediaType(t *testing.T, ct string) []intake.Item {
	t.Helper()
	m := baseEvent()
	m["datacontenttype"] = ct
	items, err := intake.FromPayload(mustJSON(t, m))
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func TestFromPayloadJSONMediaTypes(t *testing.T) {
	for _, ct := range []string{
		"application/json", "application/json;charset=utf-8", "application/json; charset=UTF-8",
		"APPLICATION/JSON", "text/json", "application/cloudevents+json", "application/vnd.vpngw.request+json",
		"application/json; charset=utf8",
	} {
		t.Run(ct, func(t *testing.T) {
			items := withMediaType(t, ct)
			if items[0].Err != nil || items[0].Data == nil {
				t.Fatalf("item = %+v", items[0])
			}
		})
	}
	for _, ct := range []string{"text/plain", "application/xml", "application/octet-stream", "application/jsonl", "text/json-seq"} {
		t.Run(ct, func(t *testing.T) {
			items := withMediaType(t, ct)
			checkProblems(t, items[0].Err, []string{"datacontenttype|not JSON"})
		})
	}
}

func TestFromPayloadExtensionValues(t *testing.T) {
	payload := `{"specversion":"1.0","id":"x","source":"/s","type":"t","data":{},
		"aliyunpublishtime":1605791082179,"ratio":1.50,"big":1e400,"flag":true,"off":false,"gone":null,
		"text":"a \"quoted\" é","tracestate":"k=v",
		"Upper":"skipped","with-hyphen":"skipped","under_score":"skipped","":"skipped"}`
	items, err := intake.FromPayload([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	checkItem(t, items[0], 0, want{
		identity: request.Identity{Source: "/s", EventID: "x"},
		typ:      "t",
		data:     `{}`,
		extensions: map[string]string{
			"aliyunpublishtime": "1605791082179",
			"ratio":             "1.50",
			"big":               "1e400",
			"flag":              "true",
			"off":               "false",
			"text":              `a "quoted" é`,
			"tracestate":        "k=v",
		},
		ignored: []string{"", "Upper", "under_score", "with-hyphen"},
	})
}

func TestFromPayloadDataIsCopied(t *testing.T) {
	payload := testdata(t, "eventbridge-event-driven.json")
	items, err := intake.FromPayload(payload)
	if err != nil {
		t.Fatal(err)
	}
	before := string(items[0].Data)
	for i := range payload {
		payload[i] = 'x'
	}
	if string(items[0].Data) != before {
		t.Fatal("Data aliases the payload: changing the payload changed the item")
	}
}

func TestKindHTTPStatus(t *testing.T) {
	for k, want := range map[intake.Kind]int{intake.Malformed: 400, intake.TooLarge: 413, intake.UnsupportedMediaType: 415} {
		if got := k.HTTPStatus(); got != want {
			t.Errorf("%v.HTTPStatus() = %d, want %d", k, got, want)
		}
	}
}

// TestFromPayloadEventsSamples reads every sample event of the events
// package: each is a valid CloudEvent, so each must be accepted, with its
// data as it stands in the sample (decoded from data_base64 where the sample
// uses it).
func TestFromPayloadEventsSamples(t *testing.T) {
	names, err := fs.Glob(events.Samples, "testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("events.Samples holds no samples")
	}
	for _, name := range names {
		t.Run(path.Base(name), func(t *testing.T) {
			b, err := fs.ReadFile(events.Samples, name)
			if err != nil {
				t.Fatal(err)
			}
			var sample struct {
				ID         string          `json:"id"`
				Source     string          `json:"source"`
				Subject    string          `json:"subject"`
				Type       string          `json:"type"`
				Data       json.RawMessage `json:"data"`
				DataBase64 []byte          `json:"data_base64"`
			}
			if err := json.Unmarshal(b, &sample); err != nil {
				t.Fatal(err)
			}
			data := string(sample.Data)
			if sample.DataBase64 != nil {
				data = string(sample.DataBase64)
			}
			items, err := intake.FromPayload(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 {
				t.Fatalf("got %d items", len(items))
			}
			it := items[0]
			if it.Err != nil {
				t.Fatalf("sample refused: %v", it.Err)
			}
			if it.Identity != (request.Identity{Source: sample.Source, EventID: sample.ID, Subject: sample.Subject}) || it.Type != sample.Type {
				t.Errorf("Identity, Type = %+v, %q", it.Identity, it.Type)
			}
			requireSameJSON(t, it.Data, data)
		})
	}
}

// Every RFC 3339 form of time is taken: offsets, fractions, lower case.
func TestFromPayloadTimeForms(t *testing.T) {
	for _, v := range []string{"2025-01-15T08:00:00Z", "2025-01-15T16:00:00+08:00", "2025-01-15T08:00:00.123456789Z", "2025-01-15t08:00:00z", "2020-11-19T21:04:41+08:00"} {
		m := baseEvent()
		m["time"] = v
		items, err := intake.FromPayload(mustJSON(t, m))
		if err != nil || len(items) != 1 || items[0].Err != nil {
			t.Errorf("time %q: %v, %+v", v, err, items)
		}
	}
}

// A traceparent is kept in its 55-character form when it is one, and dropped
// (not refused) when it is not.
func TestFromPayloadTraceParent(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct{ in, want string }{
		{valid, valid},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{valid + "-extra", ""}, // version 00 has exactly 55
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ""},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ""},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", ""},
		{"not a trace", ""},
		{"", ""},
	} {
		m := baseEvent()
		m["traceparent"] = tc.in
		items, err := intake.FromPayload(mustJSON(t, m))
		if err != nil || len(items) != 1 || items[0].Err != nil {
			t.Fatalf("traceparent %q: %v %+v", tc.in, err, items)
		}
		if items[0].TraceParent != tc.want {
			t.Errorf("traceparent %q read as %q, want %q", tc.in, items[0].TraceParent, tc.want)
		}
	}
}
