package intake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"sort"
	"strings"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/jsonread"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/textcut"
)

// Context attribute and member names of the JSON event format.
const (
	attrSpecVersion     = "specversion"
	attrID              = "id"
	attrSource          = "source"
	attrType            = "type"
	attrSubject         = "subject"
	attrTime            = "time"
	attrDataSchema      = "dataschema"
	attrDataContentType = "datacontenttype"
	attrTraceParent     = "traceparent"
	memberData          = "data"
	memberDataBase64    = "data_base64"
)

// wantData is what every data problem says is allowed.
const wantData = "a JSON object of CreateVpnGateway parameters"

// maxValueEcho bounds how much of a bad value a problem repeats, so that a
// huge or hostile value does not end up whole in logs and failure events.
const maxValueEcho = 64

// problems collects what is wrong with one event: the first
// request.MaxFieldErrors described, the others only counted, as for the
// request data.
type problems struct {
	list    []events.FieldError
	omitted int
}

// add describes a problem, echoing at most maxValueEcho bytes of the value
// and of the field (an extension's name can be as long as the event), and
// no string of the message longer than maxArgEcho whole.
func (p *problems) add(field, value, allowed, format string, args ...any) {
	if len(p.list) >= request.MaxFieldErrors {
		p.omitted++
		return
	}
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > maxArgEcho {
			args[i] = echo(s)
		}
	}
	p.list = append(p.list, events.FieldError{
		Field:   echo(field),
		Value:   echo(value),
		Allowed: allowed,
		Message: fmt.Sprintf(format, args...),
	})
}

func (p *problems) any() bool { return len(p.list) > 0 }

// err is the event's error: the problems described and the count of the
// others.
func (p *problems) err() *EventError {
	list := p.list
	if p.omitted > 0 {
		list = append(list[:len(list):len(list)], request.OmittedErrors("event", p.omitted))
	}
	return &EventError{Problems: list}
}

// maxArgEcho is the longest string a problem's message repeats whole; a
// longer one is cut like a value. It leaves room for the descriptions of
// JSON errors.
const maxArgEcho = 256

// echo is v cut to maxValueEcho bytes at a character boundary and followed
// by textcut.Ellipsis when cut: the mark comes on top of the bound, which
// counts the value's bytes only.
func echo(v string) string {
	if len(v) <= maxValueEcho {
		return v
	}
	return textcut.Cut(v, maxValueEcho) + textcut.Ellipsis
}

// origin is where an event's attributes came from, for the few rules that
// differ between the JSON format and HTTP binary mode.
type origin int

const (
	fromJSON origin = iota
	fromBinary
)

// parseObject reads one structured CloudEvent from the bytes of a JSON value.
func parseObject(raw []byte, index int) Item {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		var p problems
		p.add("event", "", "a CloudEvent JSON object",
			"event: %s; want a CloudEvent JSON object", describeJSON(raw))
		return Item{Index: index, Err: p.err()}
	}
	return build(envelope{attrs: m, src: fromJSON, index: index})
}

// envelope is one event's attributes as read from the wire, before checking.
type envelope struct {
	// attrs maps attribute names to JSON values; in binary mode every value
	// is a JSON string.
	attrs map[string]json.RawMessage
	// body holds the data in binary mode.
	body  []byte
	src   origin
	index int
	// pre holds problems found while reading (binary mode), and reported
	// names the attributes they concern, which are then not also reported
	// missing.
	pre      problems
	reported map[string]bool
}

// build checks the attributes of one event and assembles its Item.
func build(e envelope) Item {
	it := Item{Index: e.index}
	p := e.pre
	attrs := e.attrs
	str := func(name string, required bool, allowed string) (string, bool) {
		return readString(&p, attrs, name, required && !e.reported[name], allowed)
	}

	// Required attributes. Each one that is a string fills the identity even
	// when another is wrong, so the failure can still name the request.
	spec, ok := str(attrSpecVersion, true, `"1.0"`)
	if ok && spec != SpecVersion {
		p.add(attrSpecVersion, spec, `"1.0"`, "%s %q: only %q is supported", attrSpecVersion, spec, SpecVersion)
	}
	it.Identity.EventID, _ = str(attrID, true, "a non-empty string")
	it.Identity.Source, _ = str(attrSource, true, "a non-empty string (URI-reference)")
	it.Type, _ = str(attrType, true, `a non-empty string such as "`+events.TypeRequested+`"`)

	// Optional attributes.
	it.Identity.Subject, _ = str(attrSubject, false, "a string")
	it.Time, _ = str(attrTime, false, "a string (RFC 3339 timestamp)")
	it.Time = checkTime(&p, attrTime, it.Time)
	str(attrDataSchema, false, "a string (URI)")
	tp, _ := str(attrTraceParent, false, "a string (W3C traceparent)")
	it.TraceParent = traceParent(tp)
	contentType, hasType := str(attrDataContentType, false, "a string (media type)")
	isJSON := true
	if hasType {
		if msg := checkJSONMediaType(contentType); msg != "" {
			isJSON = false
			p.add(attrDataContentType, contentType, "application/json, text/json or a +json type, UTF-8",
				"%s %q: %s", attrDataContentType, contentType, msg)
		}
	}

	// Data.
	if isJSON {
		if e.src == fromBinary {
			it.Data = dataFromBody(&p, e.body)
		} else {
			it.Data = dataFromJSON(&p, attrs)
		}
	}

	// Extensions, in name order so that problems come out the same every time.
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		if !isContextAttr(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if !validAttrName(name) {
			it.Ignored = append(it.Ignored, name)
			continue
		}
		v, present, bad := extensionValue(attrs[name])
		if bad != "" {
			p.add(name, "", "a string, number or boolean",
				"%s: %s; extension attributes must be a string, number or boolean", name, bad)
			continue
		}
		if !present {
			continue
		}
		if it.Extensions == nil {
			it.Extensions = make(map[string]string)
		}
		it.Extensions[name] = v
	}

	it.Origin = cloudEventOrigin(it.Extensions)
	checkDryRun(&p, it.Extensions)
	checkExpires(&p, it.Extensions)

	if p.any() {
		it.Err = p.err()
		// The data of a malformed event is not to be acted on.
		it.Data = nil
	}
	return it
}

// traceParent is the W3C Trace Context traceparent v names, in its version-00
// form of 55 characters, or "" when v is not one: a trace context that does
// not parse is dropped (the trace restarts), as Trace Context tells a
// receiver to do, rather than refusing the request for it. A later version is
// read by its first 55 characters, as the specification says.
func traceParent(v string) string {
	if len(v) < 55 || (len(v) > 55 && v[55] != '-') || (v[:2] == "00" && len(v) != 55) {
		return ""
	}
	v = v[:55]
	if v[2] != '-' || v[35] != '-' || v[52] != '-' || v[:2] == "ff" {
		return ""
	}
	for _, part := range []string{v[:2], v[3:35], v[36:52], v[53:]} {
		if strings.Trim(part, "0123456789abcdef") != "" {
			return ""
		}
	}
	if strings.Trim(v[3:35], "0") == "" || strings.Trim(v[36:52], "0") == "" {
		return "" // an all-zero trace id or parent id is invalid
	}
	return v
}

// timeAllowed is what a time attribute takes.
const timeAllowed = "an RFC 3339 timestamp such as 2026-11-25T10:00:00Z or 2026-11-25T18:00:00.123+08:00"

// checkTime reports a time attribute that is not an RFC 3339 timestamp, as
// the CloudEvents specification requires it to be, and returns the value to
// keep: v, or nothing when it is not a timestamp. An empty value is an
// attribute left out (or one readString already reported).
func checkTime(p *problems, name, v string) string {
	if v == "" {
		return ""
	}
	// RFC 3339 allows a lower-case t and z; Go's layout takes upper case.
	if _, err := time.Parse(time.RFC3339Nano, strings.ToUpper(v)); err != nil {
		p.add(name, v, timeAllowed, "%s %q: not an RFC 3339 timestamp", name, v)
		return ""
	}
	return v
}

// isContextAttr reports whether name is handled explicitly by build rather
// than as an extension.
func isContextAttr(name string) bool {
	switch name {
	case attrSpecVersion, attrID, attrSource, attrType, attrSubject, attrTime,
		attrDataSchema, attrDataContentType, attrTraceParent, memberData, memberDataBase64:
		return true
	}
	return false
}

// validAttrName reports whether name is a CloudEvents attribute name:
// lower-case ASCII letters and digits. The spec's advice to stay within 20
// characters is not enforced: aliyunoriginalaccountid has 23.
func validAttrName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// readString reads a string attribute. JSON null counts as absent, as the
// JSON format says. It records a problem when a required attribute is absent
// or empty, or when the value is not a string; ok is true when the attribute
// is present as a string (non-empty, if required).
func readString(p *problems, attrs map[string]json.RawMessage, name string, required bool, allowed string) (string, bool) {
	raw, present := attrs[name]
	if present && isNull(raw) {
		present = false
	}
	if !present {
		if required {
			p.add(name, "", allowed, "%s: missing; want %s", name, allowed)
		}
		return "", false
	}
	s, ok := jsonread.Unquote(raw)
	if !ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			p.add(name, string(bytes.TrimSpace(raw)), allowed, "%s: %s; want %s", name, describeJSON(raw), allowed)
			return "", false
		}
	}
	if required && s == "" {
		p.add(name, "", allowed, "%s: empty; want %s", name, allowed)
		return "", false
	}
	return s, true
}

// checkJSONMediaType returns "" when mediaType names JSON in UTF-8, and
// otherwise what is wrong with it.
func checkJSONMediaType(mediaType string) string {
	mt, params, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return "not a media type (" + err.Error() + ")"
	}
	if !isJSONMediaType(mt) {
		return "not JSON; want application/json, text/json or a +json type"
	}
	if cs, ok := params["charset"]; ok && !isUTF8(cs) {
		return fmt.Sprintf("charset %q: only UTF-8 is supported", cs)
	}
	return ""
}

// isJSONMediaType reports whether a parsed (lower-case) media type is JSON.
func isJSONMediaType(mt string) bool {
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

func isUTF8(charset string) bool {
	return strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "utf8")
}

// dataFromJSON finds the data of a structured event in data or data_base64.
func dataFromJSON(p *problems, attrs map[string]json.RawMessage) []byte {
	data, hasData := attrs[memberData]
	if hasData && isNull(data) {
		hasData = false
	}
	b64, hasB64 := attrs[memberDataBase64]
	if hasB64 && isNull(b64) {
		hasB64 = false
	}
	switch {
	case hasData && hasB64:
		p.add(memberData, "", "either data or data_base64",
			"%s and %s: both present; an event carries its data in at most one of them", memberData, memberDataBase64)
		return nil
	case hasB64:
		var s string
		if err := json.Unmarshal(b64, &s); err != nil {
			p.add(memberDataBase64, "", "a base64 string",
				"%s: %s; want a base64 string holding %s", memberDataBase64, describeJSON(b64), wantData)
			return nil
		}
		decoded, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			p.add(memberDataBase64, s, "standard base64 (RFC 4648)",
				"%s: invalid base64 (%v); want standard base64 (RFC 4648) holding %s", memberDataBase64, err, wantData)
			return nil
		}
		return objectData(p, memberDataBase64, decoded, false)
	case hasData:
		// A member of an object that decoded is valid JSON already.
		return objectData(p, memberData, data, true)
	}
	p.add(memberData, "", wantData, "%s: missing; want %s", memberData, wantData)
	return nil
}

// dataFromBody reads the data of a binary-mode event.
func dataFromBody(p *problems, body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		p.add(memberData, "", wantData, "%s: the body is empty; want %s", memberData, wantData)
		return nil
	}
	return objectData(p, memberData, body, false)
}

// objectData checks that raw is the JSON text of an object, unwrapping one
// level of JSON string (see the package documentation), and returns the
// object's bytes, trimmed and copied. valid says that raw is known to be
// JSON, which is then not checked again.
func objectData(p *problems, field string, raw []byte, valid bool) []byte {
	raw = bytes.TrimSpace(raw)
	if !valid && !json.Valid(raw) {
		p.add(field, "", wantData, "%s: %s; want %s", field, describeJSON(raw), wantData)
		return nil
	}
	switch raw[0] {
	case '{':
		return bytes.Clone(raw)
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s) // cannot fail: raw is a valid JSON string
		inner := bytes.TrimSpace([]byte(s))
		if len(inner) > 0 && inner[0] == '{' && json.Valid(inner) {
			return inner
		}
		p.add(field, "", wantData, "%s: a JSON string that does not hold a JSON object; want %s", field, wantData)
		return nil
	}
	p.add(field, "", wantData, "%s: %s; want %s", field, describeJSON(raw), wantData)
	return nil
}

// extensionValue renders an extension value as a string. present is false
// for null; bad says why the value is not allowed.
func extensionValue(raw json.RawMessage) (v string, present bool, bad string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false, "no value"
	}
	switch raw[0] {
	case 'n':
		return "", false, ""
	case '"':
		if s, ok := jsonread.Unquote(raw); ok {
			return s, true, ""
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, "not a valid JSON string"
		}
		return s, true, ""
	case '{', '[':
		return "", false, describeJSON(raw)
	}
	// A number or a boolean: keep the JSON text, which is the canonical
	// string form CloudEvents gives Integer and Boolean.
	return string(raw), true, ""
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// describeJSON says what kind of JSON value raw is, or why it is not JSON.
func describeJSON(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Sprintf("not valid JSON (%v at byte %d)", se, se.Offset)
		}
		return fmt.Sprintf("not valid JSON (%v)", err)
	}
	switch raw[0] {
	case '{':
		return "a JSON object"
	case '[':
		return "a JSON array"
	case '"':
		return "a JSON string"
	case 't', 'f':
		return "a JSON boolean"
	case 'n':
		return "JSON null"
	}
	return "a JSON number"
}

// checkExpires refuses a request.ExpiresExtension that is neither a time
// nor a positive duration. Whether it is in the past, or over the policy's
// maxLifetime, is decided when the request is recorded.
func checkExpires(p *problems, ext map[string]string) {
	v, ok := ext[request.ExpiresExtension]
	if !ok {
		return
	}
	if _, _, err := request.ExpiryLifetime(v); err != nil {
		p.add(request.ExpiresExtension, v, request.ExpiresAllowed, "%s", err.Error())
	}
}

// checkDryRun reads the dry-run flag as true or false in any case, and
// writes it back in lower case. Any other value is a problem: a flag meant
// as a dry run must never be read as a real request.
func checkDryRun(p *problems, ext map[string]string) {
	v, ok := ext[DryRunExtension]
	if !ok {
		return
	}
	switch l := strings.ToLower(v); l {
	case "true", "false":
		ext[DryRunExtension] = l
	default:
		p.add(DryRunExtension, v, "true or false (in any case)",
			"%s %q: a dry run is asked for with true and a real request with false; any other value is refused", DryRunExtension, v)
	}
}
