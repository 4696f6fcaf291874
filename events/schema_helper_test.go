package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
)

// jsonSchema is a JSON Schema (draft 2020-12) validator for the keywords the
// schemas in events/schemas use, and no others: loading a schema that uses
// any other keyword fails, so a schema cannot quietly say more than is
// checked. Patterns are written in the common subset of ECMA-262 (what JSON
// Schema specifies) and RE2 (what Go runs).
type jsonSchema struct {
	root     map[string]any
	patterns map[string]*regexp.Regexp
}

// schemaError is one keyword an instance fails, at a path written as request
// FieldErrors write it: Bandwidth, Tags[0].Key, Parameters.Name.
type schemaError struct {
	Path, Keyword, Message string
}

func (e schemaError) String() string { return e.Path + ": " + e.Keyword + ": " + e.Message }

// annotations are keywords that say nothing about validity.
var annotations = []string{"$schema", "$id", "title", "description", "$defs"}

var assertions = []string{
	"$ref", "type", "required", "properties", "additionalProperties", "enum",
	"minimum", "maximum", "minLength", "maxLength", "pattern", "items", "minItems", "maxItems",
	"oneOf", "anyOf", "not",
}

// loadSchema reads the schema of an event type's data from events.Schemas.
func loadSchema(t testing.TB, eventType string) *jsonSchema {
	t.Helper()
	b, err := events.Schemas.ReadFile("schemas/" + eventType + ".schema.json")
	if err != nil {
		t.Fatalf("read schema of %s: %v", eventType, err)
	}
	s, err := parseSchema(b)
	if err != nil {
		t.Fatalf("schema of %s: %v", eventType, err)
	}
	return s
}

func parseSchema(b []byte) (*jsonSchema, error) {
	root, ok := decodeJSON(b).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is not a JSON object")
	}
	s := &jsonSchema{root: root, patterns: map[string]*regexp.Regexp{}}
	if err := s.compile(root, "#"); err != nil {
		return nil, err
	}
	return s, nil
}

// compile checks every keyword of node (recursively) is one this validator
// implements, compiles the patterns and resolves the references.
func (s *jsonSchema) compile(node map[string]any, at string) error {
	for kw, v := range node {
		switch {
		case slices.Contains(annotations, kw) && kw != "$defs":
		case kw == "$defs":
			for name, def := range v.(map[string]any) {
				if err := s.compile(def.(map[string]any), at+"/$defs/"+name); err != nil {
					return err
				}
			}
		case !slices.Contains(assertions, kw):
			return fmt.Errorf("%s: keyword %q is not supported by this validator", at, kw)
		case kw == "$ref":
			if _, err := s.resolve(v.(string)); err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
		case kw == "pattern":
			re, err := regexp.Compile(v.(string))
			if err != nil {
				return fmt.Errorf("%s: pattern: %w", at, err)
			}
			s.patterns[v.(string)] = re
		case kw == "properties":
			for name, sub := range v.(map[string]any) {
				if err := s.compile(sub.(map[string]any), at+"/properties/"+name); err != nil {
					return err
				}
			}
		case kw == "items":
			if err := s.compile(v.(map[string]any), at+"/items"); err != nil {
				return err
			}
		case kw == "not":
			if err := s.compile(v.(map[string]any), at+"/not"); err != nil {
				return err
			}
		case kw == "oneOf" || kw == "anyOf":
			for i, sub := range v.([]any) {
				if err := s.compile(sub.(map[string]any), fmt.Sprintf("%s/%s/%d", at, kw, i)); err != nil {
					return err
				}
			}
		case kw == "additionalProperties":
			if sub, ok := v.(map[string]any); ok {
				if err := s.compile(sub, at+"/additionalProperties"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// resolve finds a "#/$defs/Name" reference in the schema's own document.
func (s *jsonSchema) resolve(ref string) (map[string]any, error) {
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only #/$defs/<name> is supported", ref)
	}
	defs, _ := s.root["$defs"].(map[string]any)
	def, ok := defs[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q: no such definition", ref)
	}
	return def, nil
}

// validate checks an instance given as JSON text.
func (s *jsonSchema) validate(instance []byte) []schemaError {
	var errs []schemaError
	s.check(s.root, decodeJSON(instance), "", &errs)
	return errs
}

func (s *jsonSchema) check(node map[string]any, v any, path string, errs *[]schemaError) {
	fail := func(kw, format string, args ...any) {
		*errs = append(*errs, schemaError{Path: path, Keyword: kw, Message: fmt.Sprintf(format, args...)})
	}
	if ref, ok := node["$ref"].(string); ok {
		def, _ := s.resolve(ref)
		s.check(def, v, path, errs)
	}
	passes := func(sub any) bool {
		var se []schemaError
		s.check(sub.(map[string]any), v, path, &se)
		return len(se) == 0
	}
	if not, ok := node["not"]; ok && passes(not) {
		fail("not", "the value matches a schema it must not")
	}
	if subs, ok := node["anyOf"].([]any); ok && !slices.ContainsFunc(subs, passes) {
		fail("anyOf", "the value matches none of %d schemas", len(subs))
	}
	if subs, ok := node["oneOf"].([]any); ok {
		n := 0
		for _, sub := range subs {
			if passes(sub) {
				n++
			}
		}
		if n != 1 {
			fail("oneOf", "the value matches %d of %d schemas, want exactly 1", n, len(subs))
		}
	}
	if t, ok := node["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(want string) bool { return hasType(v, want) }) {
			fail("type", "%s is not %s", typeOf(v), strings.Join(types, " or "))
		}
	}
	if enum, ok := node["enum"].([]any); ok {
		if !slices.ContainsFunc(enum, func(e any) bool { return jsonEqual(e, v) }) {
			fail("enum", "%s is not one of %s", encode(v), encode(enum))
		}
	}
	if n, ok := v.(json.Number); ok {
		if min, ok := node["minimum"].(json.Number); ok && rat(n).Cmp(rat(min)) < 0 {
			fail("minimum", "%s is less than %s", n, min)
		}
		if max, ok := node["maximum"].(json.Number); ok && rat(n).Cmp(rat(max)) > 0 {
			fail("maximum", "%s is more than %s", n, max)
		}
	}
	if str, ok := v.(string); ok {
		length := utf8.RuneCountInString(str)
		if min, ok := node["minLength"].(json.Number); ok && length < atoi(min) {
			fail("minLength", "%d characters, fewer than %s", length, min)
		}
		if max, ok := node["maxLength"].(json.Number); ok && length > atoi(max) {
			fail("maxLength", "%d characters, more than %s", length, max)
		}
		if p, ok := node["pattern"].(string); ok && !s.patterns[p].MatchString(str) {
			fail("pattern", "%q does not match %s", str, p)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		if req, ok := node["required"].([]any); ok {
			for _, name := range req {
				if _, present := obj[name.(string)]; !present {
					*errs = append(*errs, schemaError{Path: joinPath(path, name.(string)), Keyword: "required", Message: "missing"})
				}
			}
		}
		props, _ := node["properties"].(map[string]any)
		for _, name := range sortedKeys(obj) {
			if sub, ok := props[name].(map[string]any); ok {
				s.check(sub, obj[name], joinPath(path, name), errs)
				continue
			}
			switch ap := node["additionalProperties"].(type) {
			case bool:
				if !ap {
					*errs = append(*errs, schemaError{Path: joinPath(path, name), Keyword: "additionalProperties", Message: "not allowed"})
				}
			case map[string]any:
				s.check(ap, obj[name], joinPath(path, name), errs)
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if min, ok := node["minItems"].(json.Number); ok && len(arr) < atoi(min) {
			fail("minItems", "%d items, fewer than %s", len(arr), min)
		}
		if max, ok := node["maxItems"].(json.Number); ok && len(arr) > atoi(max) {
			fail("maxItems", "%d items, more than %s", len(arr), max)
		}
		if items, ok := node["items"].(map[string]any); ok {
			for i, item := range arr {
				s.check(items, item, path+"["+strconv.Itoa(i)+"]", errs)
			}
		}
	}
}

func hasType(v any, want string) bool {
	switch want {
	case "integer":
		n, ok := v.(json.Number)
		return ok && rat(n).IsInt()
	case "number":
		_, ok := v.(json.Number)
		return ok
	default:
		return typeOf(v) == want
	}
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		return "number"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// jsonEqual compares JSON values, numbers by value (5 equals 5.0).
func jsonEqual(a, b any) bool {
	na, aok := a.(json.Number)
	nb, bok := b.(json.Number)
	if aok || bok {
		return aok && bok && rat(na).Cmp(rat(nb)) == 0
	}
	return reflect.DeepEqual(a, b)
}

func rat(n json.Number) *big.Rat {
	r, ok := new(big.Rat).SetString(n.String())
	if !ok {
		panic("not a number: " + n.String())
	}
	return r
}

func atoi(n json.Number) int {
	i, err := strconv.Atoi(n.String())
	if err != nil {
		panic(err)
	}
	return i
}

func decodeJSON(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic(fmt.Sprintf("test data is not JSON: %v", err))
	}
	return v
}

func encode(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestSchemaValidator checks the validator itself, so that a schema test
// that passes means something.
func TestSchemaValidator(t *testing.T) {
	s, err := parseSchema([]byte(`{
		"type": "object", "additionalProperties": false, "required": ["n", "r"],
		"properties": {
			"n": {"type": "integer", "minimum": 1, "maximum": 9},
			"e": {"type": ["string", "null"], "enum": ["a", "b", null]},
			"s": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[a-z]+$"},
			"l": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "boolean"}},
			"r": {"$ref": "#/$defs/R"}
		},
		"$defs": {"R": {"type": "object", "required": ["id"], "additionalProperties": false, "properties": {"id": {"type": "string"}}}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		instance string
		want     []string // path:keyword
	}{
		{`{"n": 5, "r": {"id": "x"}}`, nil},
		{`{"n": 5.0, "e": null, "s": "ab", "l": [true], "r": {"id": "x"}}`, nil},
		{`{"n": 5.5, "r": {"id": "x"}}`, []string{"n:type"}},
		{`{"n": "5", "r": {"id": "x"}}`, []string{"n:type"}},
		{`{"n": 0, "r": {"id": "x"}}`, []string{"n:minimum"}},
		{`{"n": 10, "r": {"id": "x"}}`, []string{"n:maximum"}},
		{`{"r": {}}`, []string{"n:required", "r.id:required"}},
		{`{"n": 1, "r": {"id": 1, "x": 2}}`, []string{"r.id:type", "r.x:additionalProperties"}},
		{`{"n": 1, "r": {"id": "x"}, "e": "c"}`, []string{"e:enum"}},
		{`{"n": 1, "r": {"id": "x"}, "s": "a"}`, []string{"s:minLength"}},
		{`{"n": 1, "r": {"id": "x"}, "s": "éééé"}`, []string{"s:maxLength", "s:pattern"}},
		{`{"n": 1, "r": {"id": "x"}, "s": "AB"}`, []string{"s:pattern"}},
		{`{"n": 1, "r": {"id": "x"}, "l": [true, 1, false]}`, []string{"l:maxItems", "l[1]:type"}},
		{`{"n": 1, "r": {"id": "x"}, "l": []}`, []string{"l:minItems"}},
		{`{"n": 1, "r": {"id": "x"}, "z": 1}`, []string{"z:additionalProperties"}},
		{`[]`, []string{":type"}},
	}
	for _, tc := range cases {
		var got []string
		for _, e := range s.validate([]byte(tc.instance)) {
			got = append(got, e.Path+":"+e.Keyword)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.instance, got, tc.want)
		}
	}
	for _, bad := range []string{
		`{"type": "object", "allOf": []}`,
		`{"properties": {"a": {"format": "email"}}}`,
		`{"$ref": "#/$defs/Missing"}`,
		`{"$ref": "other.json"}`,
		`{"pattern": "("}`,
	} {
		if _, err := parseSchema([]byte(bad)); err == nil {
			t.Errorf("schema %s loaded; want an error", bad)
		}
	}
}
