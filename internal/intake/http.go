package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"
)

// Media types of the CloudEvents HTTP structured and batch modes.
const (
	MediaTypeStructured = "application/cloudevents+json"
	MediaTypeBatch      = "application/cloudevents-batch+json"
)

// ceHeaderPrefix starts every binary-mode attribute header (any case).
const ceHeaderPrefix = "ce-"

// mode is an HTTP content mode.
type mode int

const (
	modeBinary mode = iota + 1
	modeStructured
	modeBatch
)

// FromHTTP parses CloudEvents over HTTP: binary mode (ce-* headers, body =
// data), structured mode (Content-Type application/cloudevents+json, with or
// without a charset) and batch mode (application/cloudevents-batch+json).
//
// It reads at most maxBody bytes of the body (DefaultMaxBody when maxBody <=
// 0). Errors are an *Error (see Kind.HTTPStatus) when the request cannot be
// used, or a wrapped I/O error when the body could not be read.
func FromHTTP(r *http.Request, maxBody int64) ([]Item, error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	// Refuse an unusable content type before reading a byte of the body.
	m, err := httpMode(r.Header)
	if err != nil {
		return nil, err
	}
	if r.ContentLength > maxBody {
		return nil, tooLarge(r.ContentLength, maxBody)
	}
	var body []byte
	if r.Body != nil {
		limit := maxBody
		if limit < math.MaxInt64 {
			limit++ // one byte more than allowed tells "at the limit" from "over it"
		}
		body, err = io.ReadAll(io.LimitReader(r.Body, limit))
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if int64(len(body)) > maxBody {
			return nil, tooLarge(-1, maxBody)
		}
	}
	return parseHTTP(m, r.Header, body)
}

// FromHTTPMessage is FromHTTP for a message whose body has already been read,
// such as a Function Compute HTTP trigger event. Header names are matched
// case-insensitively, so a header map built from lower-case names works too.
// The caller bounds the body's size.
func FromHTTPMessage(header http.Header, body []byte) ([]Item, error) {
	m, err := httpMode(header)
	if err != nil {
		return nil, err
	}
	return parseHTTP(m, header, body)
}

func tooLarge(size, limit int64) *Error {
	if size < 0 {
		return errorf(TooLarge, fmt.Sprintf("request body is over the limit of %d bytes", limit))
	}
	return errorf(TooLarge, fmt.Sprintf("request body of %d bytes is over the limit of %d bytes", size, limit))
}

// httpMode decides the content mode from the headers alone.
func httpMode(h http.Header) (mode, error) {
	if enc := strings.TrimSpace(headerGet(h, "Content-Encoding")); enc != "" && !strings.EqualFold(enc, "identity") {
		return 0, errorf(UnsupportedMediaType, fmt.Sprintf("Content-Encoding %q: not supported; send the body uncompressed", enc))
	}
	ct := headerGet(h, "Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		mt = ""
	}
	switch mt {
	case MediaTypeStructured, MediaTypeBatch:
		if cs, ok := params["charset"]; ok && !isUTF8(cs) {
			return 0, errorf(UnsupportedMediaType, fmt.Sprintf("Content-Type %q: charset %q is not supported; JSON must be UTF-8", ct, cs))
		}
		if mt == MediaTypeBatch {
			return modeBatch, nil
		}
		return modeStructured, nil
	}
	if strings.HasPrefix(mt, "application/cloudevents") {
		return 0, errorf(UnsupportedMediaType, fmt.Sprintf(
			"Content-Type %q: event format not supported; want %s or %s", ct, MediaTypeStructured, MediaTypeBatch))
	}
	// Binary mode is recognised by ce-specversion; whatever Content-Type it
	// has is the event's datacontenttype, judged per event.
	if len(headerValues(h, ceHeaderPrefix+attrSpecVersion)) > 0 {
		return modeBinary, nil
	}
	if ct == "" || (mt != "" && isJSONMediaType(mt)) {
		return 0, errorf(Malformed, fmt.Sprintf(
			"no ce-specversion header and Content-Type %q: for binary mode send ce-specversion, ce-id, ce-source and ce-type headers; "+
				"for structured mode send Content-Type %s", ct, MediaTypeStructured))
	}
	return 0, errorf(UnsupportedMediaType, fmt.Sprintf(
		"Content-Type %q: not CloudEvents; want binary mode (ce-* headers and a JSON body), %s or %s", ct, MediaTypeStructured, MediaTypeBatch))
}

func parseHTTP(m mode, h http.Header, body []byte) ([]Item, error) {
	if m == modeBinary {
		return []Item{withRaw(parseBinary(h, body), body)}, nil
	}
	body = bytes.TrimSpace(bytes.TrimPrefix(body, utf8BOM))
	if len(body) == 0 {
		return nil, errorf(Malformed, "request body is empty; want a CloudEvent JSON object or, in batch mode, a JSON array of them")
	}
	if m == modeBatch {
		if body[0] != '[' {
			if err := validJSON("request body", body); err != nil {
				return nil, err
			}
			return nil, errorf(Malformed, fmt.Sprintf("request body is %s; batch mode wants a JSON array of CloudEvents", describeJSON(body)))
		}
		return parseArray("request body", body, false)
	}
	if err := validJSON("request body", body); err != nil {
		return nil, err
	}
	switch body[0] {
	case '{':
		return []Item{withRaw(parseObject(body, 0), body)}, nil
	case '[':
		return nil, errorf(Malformed, "request body is a JSON array in structured mode; send a batch with Content-Type "+MediaTypeBatch)
	}
	return nil, errorf(Malformed, fmt.Sprintf("request body is %s; structured mode wants a CloudEvent JSON object", describeJSON(body)))
}

// parseBinary reads a binary-mode event: attributes from ce-* headers, the
// data content type from Content-Type, the data from the body.
func parseBinary(h http.Header, body []byte) Item {
	attrs := make(map[string]json.RawMessage)
	var p problems
	var ignored []string
	reported := make(map[string]bool)

	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		lk := strings.ToLower(key)
		if !strings.HasPrefix(lk, ceHeaderPrefix) {
			continue
		}
		name := lk[len(ceHeaderPrefix):]
		// A hyphen, underscore or other character after "ce-" means the header
		// is not a CloudEvents attribute (Ce-Fc-Code-Checksum is Function
		// Compute's own); it is skipped, never the whole event.
		if !validAttrName(name) || name == memberData {
			ignored = append(ignored, key)
			continue
		}
		if name == attrDataContentType {
			p.add(attrDataContentType, "", "the Content-Type header",
				"ce-%s: must not be present in binary mode; the Content-Type header carries the data content type", name)
			continue
		}
		if _, dup := attrs[name]; dup {
			// The same header under two spellings of its name.
			p.add(name, "", "one header value", "ce-%s: given more than once; want one value", name)
			reported[name] = true
			continue
		}
		vals := h[key]
		if len(vals) != 1 {
			p.add(name, "", "one header value", "ce-%s: %d values; want one", name, len(vals))
			reported[name] = true
			continue
		}
		v, err := decodeHeaderValue(vals[0])
		if err != nil {
			p.add(name, vals[0], "percent-encoded UTF-8", "ce-%s: %v", name, err)
			reported[name] = true
			continue
		}
		attrs[name] = jsonString(v)
	}
	if ct := headerValues(h, "Content-Type"); len(ct) > 0 && strings.TrimSpace(ct[0]) != "" {
		attrs[attrDataContentType] = jsonString(ct[0])
	}

	it := build(envelope{attrs: attrs, body: body, src: fromBinary, pre: p, reported: reported})
	it.Ignored = ignored // already sorted: keys were visited in order
	return it
}

// decodeHeaderValue undoes the HTTP binding's encoding of an attribute value:
// a double-quoted string is unquoted, then one round of percent-decoding is
// applied. The result must be valid UTF-8.
func decodeHeaderValue(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var b strings.Builder
		inner := v[1 : len(v)-1]
		for i := 0; i < len(inner); i++ {
			if inner[i] == '\\' && i+1 < len(inner) {
				i++
			}
			b.WriteByte(inner[i])
		}
		v = b.String()
	}
	if strings.IndexByte(v, '%') >= 0 {
		out := make([]byte, 0, len(v))
		for i := 0; i < len(v); i++ {
			if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
				out = append(out, unhex(v[i+1])<<4|unhex(v[i+2]))
				i += 2
				continue
			}
			out = append(out, v[i])
		}
		v = string(out)
	}
	if !utf8.ValidString(v) {
		return "", errors.New("not valid UTF-8 after percent-decoding")
	}
	return v, nil
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a Go string always marshals
	return b
}

// headerValues returns the values of a header, matching its name
// case-insensitively, so that header maps not built by net/http (and so not
// in canonical form) work too.
func headerValues(h http.Header, name string) []string {
	if v, ok := h[http.CanonicalHeaderKey(name)]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func headerGet(h http.Header, name string) string {
	if v := headerValues(h, name); len(v) > 0 {
		return v[0]
	}
	return ""
}
