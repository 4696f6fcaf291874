package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/jsonread"
)

// DataField is the Field of a FieldError about the request data as a whole
// (empty, not JSON, not an object, trailing content) rather than about one
// parameter.
const DataField = "data"

// kind is the JSON type a parameter takes.
type kind int

const (
	kindString kind = iota
	kindInt
	kindBool
	kindTags
)

// allowed says what a parameter of the kind must be, for FieldError.Allowed.
func (k kind) allowed() string {
	switch k {
	case kindInt:
		return "a JSON integer"
	case kindBool:
		return "a JSON boolean (true or false)"
	case kindTags:
		return `a JSON array of {"Key": string, "Value": string} objects`
	default:
		return "a JSON string"
	}
}

// parameter is one request parameter: its name as the API spells it, its JSON
// type, and where it goes in the Go type.
type parameter struct {
	name string
	kind kind
	str  func(*events.GatewayRequest) *string
	num  func(*events.GatewayRequest) **int
	bit  func(*events.GatewayRequest) **bool
}

// parameters are the members of a request, in the order of
// events.GatewayRequest.
var parameters = []parameter{
	{name: "RegionId", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.RegionId }},
	{name: "VpcId", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.VpcId }},
	{name: "Bandwidth", kind: kindInt, num: func(r *events.GatewayRequest) **int { return &r.Bandwidth }},
	{name: "Name", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.Name }},
	{name: "InstanceChargeType", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.InstanceChargeType }},
	{name: "Period", kind: kindInt, num: func(r *events.GatewayRequest) **int { return &r.Period }},
	{name: "AutoPay", kind: kindBool, bit: func(r *events.GatewayRequest) **bool { return &r.AutoPay }},
	{name: "EnableIpsec", kind: kindBool, bit: func(r *events.GatewayRequest) **bool { return &r.EnableIpsec }},
	{name: "EnableSsl", kind: kindBool, bit: func(r *events.GatewayRequest) **bool { return &r.EnableSsl }},
	{name: "SslConnections", kind: kindInt, num: func(r *events.GatewayRequest) **int { return &r.SslConnections }},
	{name: "VSwitchId", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.VSwitchId }},
	{name: "VpnType", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.VpnType }},
	{name: "ClientToken", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.ClientToken }},
	{name: "NetworkType", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.NetworkType }},
	{name: "DisasterRecoveryVSwitchId", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.DisasterRecoveryVSwitchId }},
	{name: "ResourceGroupId", kind: kindString, str: func(r *events.GatewayRequest) *string { return &r.ResourceGroupId }},
	{name: "Tags", kind: kindTags},
}

var parameterNames = func() []string {
	names := make([]string, len(parameters))
	for i, p := range parameters {
		names[i] = p.name
	}
	return names
}()

var tagMembers = []string{"Key", "Value"}

// Decode parses a request's data strictly, as a JSON object whose members are
// CreateVpnGateway parameters named exactly as the API names them.
//
// It refuses, each with a FieldError naming the member: a name that is not a
// parameter (names are case-sensitive; a near miss such as "Bandwith" gets a
// "did you mean"), a name given twice (decoders disagree on which copy wins,
// so no copy is trusted), and a value of the wrong JSON type. Bandwidth,
// Period and SslConnections must be JSON numbers with an integral value
// within the 32-bit range of the API's Integer (5 and 5.0 are accepted, 5.5 is
// not); a numeric string such as "5" is refused, because the contract is
// typed JSON and its JSON Schema says integer, even though the API's own wire
// form is a string. Booleans must be JSON true or false. A null member is
// treated as absent, as most JSON producers write null for "not set"; an
// empty string is refused instead (it is never a valid value, and the Go
// type could not tell it from absent), with a hint to leave the member out.
//
// Data that is empty, not JSON, not an object, or followed by anything but
// white space gives one FieldError with Field DataField.
//
// Decode reports every problem it finds, not only the first, up to
// MaxFieldErrors; beyond that it counts them, and a last FieldError (Field
// DataField) says how many more there were. A syntax error ends the search,
// since nothing after it can be read. The request returned holds what could
// be decoded, so a caller can still name, say, the region of a request it
// rejects.
func Decode(data []byte) (events.GatewayRequest, []events.FieldError) {
	r, l, _ := decode(data)
	return r, l.list()
}

// decode is Decode, keeping the fields of the problems it only counted; fatal
// is set when the data could not be read as an object at all.
func decode(data []byte) (r events.GatewayRequest, l *errorList, fatal bool) {
	l = &errorList{}
	if len(bytes.TrimSpace(data)) == 0 {
		l.put(events.FieldError{
			Field:   DataField,
			Allowed: "a JSON object of CreateVpnGateway parameters",
			Message: "request data is empty; expected a JSON object of CreateVpnGateway parameters",
		})
		return r, l, true
	}
	each := func(name string, raw json.RawMessage) {
		decodeParameter(&r, name, raw, l)
	}
	if jsonread.ValidObject(data) {
		// Valid JSON, and an object: nothing can be fatal or trail it.
		readValidObject(data, "", parameterNames, "a CreateVpnGateway parameter", l, each)
		return r, l, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()

	if fe := readObject(dec, "", parameterNames, "a CreateVpnGateway parameter", l, each); fe != nil {
		l.addFirst(*fe)
		return r, l, true
	}
	// Anything but white space after the object is an error: a second
	// object, or garbage, means the producer and vpngw disagree about where
	// the request ends.
	if _, err := dec.Token(); err != io.EOF {
		l.addFirst(events.FieldError{
			Field:   DataField,
			Allowed: "a single JSON object",
			Message: fmt.Sprintf("request data has trailing content after the JSON object (at byte %d)", dec.InputOffset()),
		})
		return r, l, true
	}
	return r, l, false
}

// readObject reads one JSON object from dec and calls fn with each member
// whose name is in known, in order. It reports unknown and repeated names
// itself into l, with Field prefix+name; what names the known members for
// messages. A non-nil fatal error means the data could not be read on (it is
// not JSON, or not an object).
func readObject(dec *json.Decoder, prefix string, known []string, what string, l *errorList, fn func(string, json.RawMessage)) (fatal *events.FieldError) {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err, dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &events.FieldError{
			Field:   DataField,
			Value:   describeToken(tok),
			Allowed: "a JSON object of CreateVpnGateway parameters",
			Message: "request data must be a JSON object of CreateVpnGateway parameters, not " + kindOfToken(tok),
		}
	}
	o := objectMembers{prefix: prefix, known: known, what: what, l: l, fn: fn}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err, dec)
		}
		name, _ := tok.(string) // inside an object, json.Decoder only yields string names
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntaxError(err, dec)
		}
		o.member(name, raw)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return syntaxError(err, dec)
	}
	return nil
}

// objectMembers is what readObject and readValidObject do with each
// member they read.
type objectMembers struct {
	prefix string
	known  []string
	what   string
	l      *errorList
	fn     func(string, json.RawMessage)
	seen   map[string]bool
}

func (o *objectMembers) member(name string, raw json.RawMessage) {
	l := o.l
	field := o.prefix + displayName(name)
	switch {
	case o.seen[name] && l.full():
		l.omit(field)
	case o.seen[name]:
		l.put(events.FieldError{
			Field:   field,
			Value:   clip(string(raw)),
			Allowed: "each parameter at most once",
			Message: fmt.Sprintf("%s is given more than once; give each parameter once", field),
		})
	case !contains(o.known, name):
		if l.full() {
			// Past the cap only the field counts: no "did you mean".
			l.omit(field)
		} else {
			l.put(unknownField(o.prefix, name, o.known, o.what))
		}
	default:
		o.fn(name, raw)
	}
	if o.seen == nil {
		o.seen = make(map[string]bool)
	}
	o.seen[name] = true
}

// readValidObject is readObject for data that jsonread.ValidObject
// accepted: it reads the members in place, with no json.Decoder (see
// package jsonread).
func readValidObject(data []byte, prefix string, known []string, what string, l *errorList, fn func(string, json.RawMessage)) {
	o := objectMembers{prefix: prefix, known: known, what: what, l: l, fn: fn}
	jsonread.Members(data, func(name, raw []byte) { o.member(string(name), raw) })
}

// decodeParameter stores the member name into r, or says why it cannot.
func decodeParameter(r *events.GatewayRequest, name string, raw json.RawMessage, l *errorList) {
	if string(raw) == "null" {
		return
	}
	var p parameter
	for _, q := range parameters {
		if q.name == name {
			p = q
		}
	}
	switch p.kind {
	case kindString:
		s, ok := decodeString(l, name, raw)
		if !ok {
			return
		}
		if s == "" {
			l.put(events.FieldError{
				Field:   name,
				Allowed: "a non-empty string, or leave " + name + " out",
				Message: name + " is an empty string; leave it out instead, or give it a value",
			})
			return
		}
		*p.str(r) = s
	case kindInt:
		n, fe := decodeInt(name, raw)
		if fe != nil {
			l.put(*fe)
			return
		}
		*p.num(r) = &n
	case kindBool:
		switch string(raw) {
		case "true", "false":
			b := string(raw) == "true"
			*p.bit(r) = &b
		default:
			l.put(typeError(name, kindBool, raw))
		}
	case kindTags:
		decodeTags(r, raw, l)
	}
}

// decodeString decodes raw, the value of field, as a string; when it is
// not one, it puts the problem in l and ok is false.
func decodeString(l *errorList, field string, raw json.RawMessage) (s string, ok bool) {
	if s, ok := jsonread.Unquote(raw); ok {
		return s, true
	}
	// A failed Unmarshal is unreachable for data the decoder already
	// accepted as a string.
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		l.put(typeError(field, kindString, raw))
		return "", false
	}
	return s, true
}

// decodeInt reads a JSON number with an integral value in the int32 range:
// the API's Integer parameters are 32-bit in the generated SDK [SDK].
func decodeInt(field string, raw json.RawMessage) (int, *events.FieldError) {
	s := string(raw)
	if c := s[0]; c != '-' && (c < '0' || c > '9') {
		fe := typeError(field, kindInt, raw)
		return 0, &fe
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return int(n), nil
	}
	n, ok, inRange := integralValue(s)
	switch {
	case !ok:
		return 0, &events.FieldError{
			Field:   field,
			Value:   clip(s),
			Allowed: kindInt.allowed(),
			Message: fmt.Sprintf("%s must be a whole number, not %s", field, clip(s)),
		}
	case !inRange:
		return 0, &events.FieldError{
			Field:   field,
			Value:   clip(s),
			Allowed: fmt.Sprintf("a JSON integer from %d to %d", math.MinInt32, math.MaxInt32),
			Message: fmt.Sprintf("%s %s is out of range", field, clip(s)),
		}
	}
	return n, nil
}

// integralValue reports whether the JSON number s has an integral value and,
// if so, whether it fits in an int32, exactly (5.0 and 5e0 are 5; 5.000001
// is not whole). It bounds the work a huge exponent would cause.
func integralValue(s string) (n int, integral, inRange bool) {
	mantissa, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			// An exponent beyond int: the value is either zero, astronomically
			// large or astronomically small.
			e = math.MaxInt32
			if strings.HasPrefix(s[i+1:], "-") {
				e = math.MinInt32
			}
		}
		exp = e
	}
	if strings.Trim(mantissa, "-0.") == "" {
		return 0, true, true // zero, whatever the exponent
	}
	// A non-zero mantissa needs at most len(mantissa) digits of shift to
	// become whole or to leave the int32 range; beyond that the answer is
	// known without big arithmetic.
	limit := len(mantissa) + 12
	switch {
	case exp > limit:
		return 0, true, false
	case exp < -limit:
		return 0, false, false
	}
	var q big.Rat
	if _, ok := q.SetString(mantissa + "e" + strconv.Itoa(exp)); !ok {
		return 0, false, false
	}
	if !q.IsInt() {
		return 0, false, false
	}
	v := q.Num()
	if !v.IsInt64() || v.Int64() < math.MinInt32 || v.Int64() > math.MaxInt32 {
		return 0, true, false
	}
	return int(v.Int64()), true, true
}

// decodeTags reads Tags: an array of objects with a string Key and Value.
func decodeTags(r *events.GatewayRequest, raw json.RawMessage, l *errorList) {
	if raw[0] != '[' {
		l.put(typeError("Tags", kindTags, raw))
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		l.put(typeError("Tags", kindTags, raw))
		return
	}
	tags := make([]events.Tag, 0, len(items))
	for i, item := range items {
		prefix := "Tags[" + strconv.Itoa(i) + "]"
		if item[0] != '{' {
			l.put(events.FieldError{
				Field:   prefix,
				Value:   clip(string(item)),
				Allowed: `a JSON object {"Key": string, "Value": string}`,
				Message: fmt.Sprintf(`%s must be a JSON object {"Key": string, "Value": string}, not %s`, prefix, kindOf(item)),
			})
			// Keep the place, so that later tags keep their JSON index.
			tags = append(tags, events.Tag{})
			continue
		}
		var t events.Tag
		// The item came out of valid JSON, and it is an object.
		readValidObject(item, prefix+".", tagMembers, "a tag member", l, func(name string, v json.RawMessage) {
			if string(v) == "null" {
				return
			}
			dst := &t.Value
			if name == "Key" {
				dst = &t.Key
			}
			if s, ok := decodeString(l, prefix+"."+name, v); ok {
				*dst = s
			}
		})
		tags = append(tags, t)
	}
	if len(tags) > 0 {
		r.Tags = tags
	}
}

// unknownField reports a member that is not a parameter, with the nearest
// parameter name when one is close: wrong case or one or two typos.
func unknownField(prefix, name string, known []string, what string) events.FieldError {
	field := prefix + displayName(name)
	msg := fmt.Sprintf("%s is not %s", field, what)
	if near := Nearest(name, known); near != "" {
		if strings.EqualFold(near, name) {
			msg += fmt.Sprintf("; did you mean %s%s? Parameter names are case-sensitive", prefix, near)
		} else {
			msg += fmt.Sprintf("; did you mean %s%s?", prefix, near)
		}
	}
	return events.FieldError{
		Field:   field,
		Allowed: "one of " + strings.Join(known, ", "),
		Message: msg,
	}
}

// displayName is a member name as a FieldError shows it: the empty name
// (valid JSON) as "", so that Field is never empty, and a long one clipped.
func displayName(name string) string {
	if name == "" {
		return `""`
	}
	return clip(name)
}

// Nearest returns the known name closest to name, if it is within two edits
// (case differences count as none), for a "did you mean". The policy loader
// and the chat-command parser use it too.
func Nearest(name string, known []string) string {
	// A name far longer than every known one is within two edits of none;
	// saying so early keeps a huge name from costing a copy per known name.
	if len(name) > maxCompared*utf8.UTFMax {
		return ""
	}
	best, bestDist := "", 3
	lower := strings.ToLower(name)
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if d := EditDistance(lower, strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// maxCompared is the longest input, in runes, EditDistance compares.
const maxCompared = 64

// EditDistance is the Levenshtein distance between a and b, in runes. Long
// inputs are not worth comparing (no name vpngw suggests is longer than 25),
// so they count as far apart.
func EditDistance(a, b string) int {
	if len(a) > maxCompared*utf8.UTFMax || len(b) > maxCompared*utf8.UTFMax {
		return math.MaxInt
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) > maxCompared || len(rb) > maxCompared {
		return math.MaxInt
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func typeError(field string, want kind, raw json.RawMessage) events.FieldError {
	return events.FieldError{
		Field:   field,
		Value:   clip(string(raw)),
		Allowed: want.allowed(),
		Message: fmt.Sprintf("%s must be %s, not %s %s", field, want.allowed(), kindOf(raw), clip(string(raw))),
	}
}

func syntaxError(err error, dec *json.Decoder) *events.FieldError {
	msg := err.Error()
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		msg = fmt.Sprintf("request data is not valid JSON: %v (at byte %d)", se, se.Offset)
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		msg = fmt.Sprintf("request data is not valid JSON: it ends early (at byte %d)", dec.InputOffset())
	default:
		msg = "request data is not valid JSON: " + msg
	}
	return &events.FieldError{Field: DataField, Allowed: "a JSON object of CreateVpnGateway parameters", Message: msg}
}

// kindOf names the JSON type of a raw value, for messages.
func kindOf(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

func kindOfToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "a number"
	}
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return string(v)
	case string:
		return clip(strconv.Quote(v))
	case nil:
		return "null"
	default:
		return clip(fmt.Sprint(v))
	}
}

// maxValueRunes bounds how much of a bad value a FieldError repeats: enough
// to recognise it, not enough to turn an error event into a copy of a huge
// input.
const maxValueRunes = 64

// clip shortens s to maxValueRunes runes, marking the cut. It reads no
// more of s than it keeps.
func clip(s string) string {
	n := 0
	for i := range s {
		if n == maxValueRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func contains[T comparable](set []T, v T) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}
