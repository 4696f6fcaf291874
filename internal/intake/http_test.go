package intake_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
)

const gatewayData = `{"RegionId":"cn-hangzhou","VpcId":"vpc-1","Bandwidth":5}`

func newRequest(t *testing.T, headers map[string][]string, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	for k, vs := range headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

// binaryHeaders is a valid binary-mode request as Function Compute forwards
// it, including its own Ce-Fc-* header.
func binaryHeaders() map[string][]string {
	return map[string][]string{
		"Content-Type":         {"application/json; charset=utf-8"},
		"Ce-Specversion":       {"1.0"},
		"Ce-Id":                {"bin-1"},
		"Ce-Source":            {"/tests/binary"},
		"Ce-Type":              {events.TypeRequested},
		"Ce-Subject":           {"team-b"},
		"Ce-Time":              {"2024-03-01T10:00:00Z"},
		"Ce-Traceparent":       {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		"Ce-Aliyunpublishtime": {"1709287200100"},
		"Ce-Fc-Code-Checksum":  {"1234567890123456789"},
		"Traceparent":          {"00-11111111111111111111111111111111-2222222222222222-01"},
		"X-Fc-Request-Id":      {"1-65e1a2b3-abcdef"},
	}
}

func TestFromHTTP(t *testing.T) {
	binID := request.Identity{Source: "/tests/binary", EventID: "bin-1", Subject: "team-b"}
	structured := `{"specversion":"1.0","id":"st-1","source":"/tests/structured","type":"io.vpngw.gateway.requested",` +
		`"aliyunpublishtime":"2024-03-01T10:00:00.100Z","data":` + gatewayData + `}`
	structuredItem := []want{{
		identity:   request.Identity{Source: "/tests/structured", EventID: "st-1"},
		typ:        events.TypeRequested,
		data:       gatewayData,
		extensions: map[string]string{"aliyunpublishtime": "2024-03-01T10:00:00.100Z"},
	}}
	tests := []struct {
		name    string
		headers map[string][]string
		body    string
		want    []want
	}{
		{
			name:    "binary mode with a Ce-Fc-Code-Checksum header",
			headers: binaryHeaders(),
			body:    gatewayData,
			want: []want{{
				identity:    binID,
				typ:         events.TypeRequested,
				time:        "2024-03-01T10:00:00Z",
				traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				data:        gatewayData,
				extensions:  map[string]string{"aliyunpublishtime": "1709287200100"},
				ignored:     []string{"Ce-Fc-Code-Checksum"},
			}},
		},
		{
			name: "binary mode without Content-Type means JSON",
			headers: map[string][]string{
				"Ce-Specversion": {"1.0"}, "Ce-Id": {"bin-2"}, "Ce-Source": {"/s"}, "Ce-Type": {"t"},
			},
			body: gatewayData,
			want: []want{{identity: request.Identity{Source: "/s", EventID: "bin-2"}, typ: "t", data: gatewayData}},
		},
		{
			name: "binary mode percent-encoded and quoted values",
			headers: map[string][]string{
				"Content-Type":   {"application/json"},
				"Ce-Specversion": {"1.0"},
				"Ce-Id":          {"Euro%20%E2%82%AC%20%F0%9F%98%80"},
				"Ce-Source":      {`"/tests/a \"quoted\" source"`},
				"Ce-Type":        {"t"},
				"Ce-Subject":     {"100%25 sure, 50% off, %zz stays"},
				"Ce-Lowerhex":    {"%c3%a9"},
			},
			body: gatewayData,
			want: []want{{
				identity:   request.Identity{Source: `/tests/a "quoted" source`, EventID: "Euro € 😀", Subject: "100% sure, 50% off, %zz stays"},
				typ:        "t",
				data:       gatewayData,
				extensions: map[string]string{"lowerhex": "é"},
			}},
		},
		{
			name:    "structured mode with charset",
			headers: map[string][]string{"Content-Type": {"application/cloudevents+json; charset=UTF-8"}},
			body:    structured,
			want:    structuredItem,
		},
		{
			name: "structured mode ignores ce-* headers",
			headers: map[string][]string{
				"Content-Type": {"application/cloudevents+json"}, "Ce-Id": {"from-header"}, "Ce-Specversion": {"1.0"},
			},
			body: structured,
			want: structuredItem,
		},
		{
			name:    "batch mode, one malformed",
			headers: map[string][]string{"Content-Type": {"application/cloudevents-batch+json"}},
			body: `[` + structured + `,` +
				`{"specversion":"1.0","id":"st-2","source":"/tests/structured","type":"t","datacontenttype":"text/plain","data":"x"},` +
				`"{\"specversion\":\"1.0\"}"]`,
			want: []want{
				{
					identity:   request.Identity{Source: "/tests/structured", EventID: "st-1"},
					typ:        events.TypeRequested,
					data:       gatewayData,
					extensions: map[string]string{"aliyunpublishtime": "2024-03-01T10:00:00.100Z"},
				},
				{
					identity: request.Identity{Source: "/tests/structured", EventID: "st-2"},
					typ:      "t",
					problems: []string{`datacontenttype|"text/plain": not JSON`},
				},
				// Strings holding events are a Kafka-ism, not the HTTP batch format.
				{problems: []string{"event|event 2: a JSON string; want a CloudEvent JSON object"}},
			},
		},
		{
			name:    "empty batch",
			headers: map[string][]string{"Content-Type": {"application/cloudevents-batch+json"}},
			body:    `[]`,
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := intake.FromHTTP(newRequest(t, tt.headers, tt.body), 0)
			checkItems(t, "FromHTTP", items, err, tt.want)
		})
	}
}

func TestFromHTTPBinaryErrors(t *testing.T) {
	binID := request.Identity{Source: "/tests/binary", EventID: "bin-1", Subject: "team-b"}
	tests := []struct {
		name     string
		edit     func(h map[string][]string)
		body     string
		identity request.Identity
		typ      string
		problems []string
	}{
		{"text/plain body", func(h map[string][]string) { h["Content-Type"] = []string{"text/plain"} }, "hello", binID, events.TypeRequested,
			[]string{`datacontenttype|datacontenttype "text/plain": not JSON`}},
		{"specversion 0.3", func(h map[string][]string) { h["Ce-Specversion"] = []string{"0.3"} }, gatewayData, binID, events.TypeRequested,
			[]string{`specversion|specversion "0.3": only "1.0" is supported`}},
		{"id missing", func(h map[string][]string) { delete(h, "Ce-Id") }, gatewayData,
			request.Identity{Source: "/tests/binary", Subject: "team-b"}, events.TypeRequested, []string{"id|id: missing"}},
		{"source empty", func(h map[string][]string) { h["Ce-Source"] = []string{""} }, gatewayData,
			request.Identity{EventID: "bin-1", Subject: "team-b"}, events.TypeRequested, []string{"source|source: empty"}},
		{"type missing", func(h map[string][]string) { delete(h, "Ce-Type") }, gatewayData, binID, "",
			[]string{"type|type: missing"}},
		{"two ids", func(h map[string][]string) { h["Ce-Id"] = []string{"a", "b"} }, gatewayData,
			request.Identity{Source: "/tests/binary", Subject: "team-b"}, events.TypeRequested, []string{"id|ce-id: 2 values; want one"}},
		{"ce-datacontenttype present", func(h map[string][]string) { h["Ce-Datacontenttype"] = []string{"application/json"} }, gatewayData,
			binID, events.TypeRequested, []string{"datacontenttype|ce-datacontenttype: must not be present in binary mode"}},
		{"invalid UTF-8 after decoding", func(h map[string][]string) { h["Ce-Subject"] = []string{"%C0%A0"} }, gatewayData,
			request.Identity{Source: "/tests/binary", EventID: "bin-1"}, events.TypeRequested, []string{"subject|ce-subject: not valid UTF-8 after percent-decoding"}},
		{"empty body", nil, "", binID, events.TypeRequested, []string{"data|data: the body is empty"}},
		{"body not JSON", nil, "RegionId=cn-hangzhou", binID, events.TypeRequested, []string{"data|data: not valid JSON"}},
		{"body a JSON array", nil, "[" + gatewayData + "]", binID, events.TypeRequested, []string{"data|data: a JSON array"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := binaryHeaders()
			if tt.edit != nil {
				tt.edit(h)
			}
			items, err := intake.FromHTTP(newRequest(t, h, tt.body), 0)
			if err != nil {
				t.Fatalf("FromHTTP: %v", err)
			}
			if len(items) != 1 {
				t.Fatalf("got %d items", len(items))
			}
			it := items[0]
			if it.Identity != tt.identity || it.Type != tt.typ {
				t.Errorf("Identity, Type = %+v, %q; want %+v, %q", it.Identity, it.Type, tt.identity, tt.typ)
			}
			if it.Data != nil {
				t.Errorf("Data = %s, want nil for a malformed event", it.Data)
			}
			checkProblems(t, it.Err, tt.problems)
		})
	}
}

func TestFromHTTPEnvelopeErrors(t *testing.T) {
	event := `{"specversion":"1.0","id":"x","source":"/s","type":"t","data":{}}`
	structured := map[string][]string{"Content-Type": {intake.MediaTypeStructured}}
	tests := []struct {
		name    string
		headers map[string][]string
		body    string
		kind    intake.Kind
		msg     string
	}{
		{"text/plain without ce headers", map[string][]string{"Content-Type": {"text/plain"}}, "hello",
			intake.UnsupportedMediaType, `Content-Type "text/plain": not CloudEvents`},
		{"unparsable content type", map[string][]string{"Content-Type": {"/json"}}, event,
			intake.UnsupportedMediaType, `Content-Type "/json": not CloudEvents`},
		{"another event format", map[string][]string{"Content-Type": {"application/cloudevents+protobuf"}}, event,
			intake.UnsupportedMediaType, "event format not supported"},
		{"structured mode in UTF-16", map[string][]string{"Content-Type": {"application/cloudevents+json; charset=utf-16"}}, event,
			intake.UnsupportedMediaType, `charset "utf-16" is not supported`},
		{"gzip", map[string][]string{"Content-Type": {intake.MediaTypeStructured}, "Content-Encoding": {"gzip"}}, event,
			intake.UnsupportedMediaType, `Content-Encoding "gzip": not supported`},
		{"application/json without ce-specversion", map[string][]string{"Content-Type": {"application/json"}}, event,
			intake.Malformed, "no ce-specversion header"},
		{"no content type, no ce headers", nil, event, intake.Malformed, "no ce-specversion header"},
		{"structured, not JSON", structured, `{"specversion":`, intake.Malformed, "request body is not valid JSON"},
		{"structured, empty body", structured, ``, intake.Malformed, "request body is empty"},
		{"structured, an array", structured, `[` + event + `]`, intake.Malformed, "send a batch with Content-Type application/cloudevents-batch+json"},
		{"structured, a string", structured, `"x"`, intake.Malformed, "request body is a JSON string; structured mode wants"},
		{"batch, an object", map[string][]string{"Content-Type": {intake.MediaTypeBatch}}, event,
			intake.Malformed, "batch mode wants a JSON array"},
		{"batch, not JSON", map[string][]string{"Content-Type": {intake.MediaTypeBatch}}, `[` + event,
			intake.Malformed, "request body is not valid JSON"},
		{"batch, too many", map[string][]string{"Content-Type": {intake.MediaTypeBatch}},
			"[" + strings.TrimSuffix(strings.Repeat(event+",", intake.MaxBatch+1), ",") + "]",
			intake.TooLarge, "at most 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := intake.FromHTTP(newRequest(t, tt.headers, tt.body), 0)
			if items != nil {
				t.Errorf("items = %+v, want none", items)
			}
			checkEnvelopeError(t, err, tt.kind, tt.msg)
		})
	}
}

func TestFromHTTPBodyLimit(t *testing.T) {
	body := `{"specversion":"1.0","id":"x","source":"/s","type":"t","data":` + gatewayData + `}`
	limit := int64(len(body))
	structured := map[string][]string{"Content-Type": {intake.MediaTypeStructured}}

	t.Run("exactly at the limit", func(t *testing.T) {
		items, err := intake.FromHTTP(newRequest(t, structured, body), limit)
		if err != nil || len(items) != 1 || items[0].Err != nil {
			t.Fatalf("items, err = %+v, %v", items, err)
		}
	})
	t.Run("one byte over, declared length", func(t *testing.T) {
		_, err := intake.FromHTTP(newRequest(t, structured, body+" "), limit)
		checkEnvelopeError(t, err, intake.TooLarge, fmt.Sprintf("request body of %d bytes is over the limit of %d bytes", limit+1, limit))
	})
	t.Run("one byte over, unknown length", func(t *testing.T) {
		r := newRequest(t, structured, "")
		r.Body = io.NopCloser(strings.NewReader(body + " "))
		r.ContentLength = -1
		_, err := intake.FromHTTP(r, limit)
		checkEnvelopeError(t, err, intake.TooLarge, fmt.Sprintf("request body is over the limit of %d bytes", limit))
	})
	t.Run("binary mode, over", func(t *testing.T) {
		r := newRequest(t, binaryHeaders(), strings.Repeat(" ", 100)+gatewayData)
		_, err := intake.FromHTTP(r, 100)
		checkEnvelopeError(t, err, intake.TooLarge, "over the limit of 100 bytes")
	})
	t.Run("default limit", func(t *testing.T) {
		r := newRequest(t, structured, "")
		r.Body = io.NopCloser(io.MultiReader(strings.NewReader(body), strings.NewReader(strings.Repeat(" ", int(intake.DefaultMaxBody)))))
		r.ContentLength = -1
		_, err := intake.FromHTTP(r, 0)
		checkEnvelopeError(t, err, intake.TooLarge, "over the limit of 4194304 bytes")
	})
	t.Run("415 before reading the body", func(t *testing.T) {
		r := newRequest(t, map[string][]string{"Content-Type": {"text/plain"}}, "")
		r.Body = io.NopCloser(iotest.ErrReader(errors.New("body must not be read")))
		_, err := intake.FromHTTP(r, 0)
		checkEnvelopeError(t, err, intake.UnsupportedMediaType, "text/plain")
	})
	t.Run("read error is passed on, not classified", func(t *testing.T) {
		r := newRequest(t, structured, "")
		cause := errors.New("connection reset")
		r.Body = io.NopCloser(iotest.ErrReader(cause))
		_, err := intake.FromHTTP(r, 0)
		var ie *intake.Error
		if !errors.Is(err, cause) || errors.As(err, &ie) {
			t.Fatalf("err = %v, want the read error wrapped and no *intake.Error", err)
		}
	})
}

func TestFromHTTPMessageLowerCaseHeaders(t *testing.T) {
	// Function Compute's HTTP trigger event carries headers as a plain map,
	// not in net/http's canonical form.
	h := http.Header{
		"content-type":        {"application/json"},
		"ce-specversion":      {"1.0"},
		"ce-id":               {"fc-1"},
		"ce-source":           {"/fc/http"},
		"ce-type":             {events.TypeRequested},
		"ce-fc-code-checksum": {"1"},
	}
	items, err := intake.FromHTTPMessage(h, []byte(gatewayData))
	if err != nil {
		t.Fatal(err)
	}
	checkItem(t, items[0], 0, want{
		identity: request.Identity{Source: "/fc/http", EventID: "fc-1"},
		typ:      events.TypeRequested,
		data:     gatewayData,
		ignored:  []string{"ce-fc-code-checksum"},
	})

	h["Ce-Id"] = []string{"fc-2"}
	items, err = intake.FromHTTPMessage(h, []byte(gatewayData))
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, items[0].Err, []string{"id|ce-id: given more than once"})
}
