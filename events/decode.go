package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// DecodeData decodes the data of a vpngw event into v (a pointer to one of
// this package's data types) strictly: every member name must be one of the
// type's JSON names exactly (encoding/json alone would also take "requestid"
// for "RequestId"), no name may appear twice in one object, the data must be
// an object (not null), and nothing but white space may follow it. The error names the offending member by
// its path, such as Request.Id or Errors[0].Field.
//
// For the data of io.vpngw.gateway.requested, request.Decode in
// internal/request goes further: it reports every problem with a FieldError
// and checks number types the way the API needs. For BatchRequest only the
// envelope is checked here; its items are json.RawMessage, each left for
// request.Decode.
func DecodeData(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode event data: need a non-nil pointer, got %T", v)
	}
	if trimmed := bytes.TrimSpace(data); rv.Elem().Kind() == reflect.Struct && !bytes.HasPrefix(trimmed, []byte("{")) {
		// encoding/json would take null as "leave v alone" and succeed.
		return fmt.Errorf("decode event data into %T: data must be a JSON object", v)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode event data into %T: %w", v, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("decode event data into %T: trailing content after the JSON value (at byte %d)", v, dec.InputOffset())
	}
	if err := checkMembers(data, rv.Type().Elem(), ""); err != nil {
		return fmt.Errorf("decode event data into %T: %w", v, err)
	}
	return nil
}

// checkMembers walks raw along type t and reports the first member whose name
// is not exactly a JSON name of the struct it lands in, or that repeats.
func checkMembers(raw []byte, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch {
	case t.Kind() == reflect.Struct && raw[0] == '{':
		names := jsonNames(t)
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil { // {
			return err
		}
		seen := make(map[string]bool)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := tok.(string)
			var member json.RawMessage
			if err := dec.Decode(&member); err != nil {
				return err
			}
			at := join(path, name)
			if seen[name] {
				return fmt.Errorf("member %s appears more than once", at)
			}
			seen[name] = true
			field, ok := names[name]
			if !ok {
				return fmt.Errorf("unknown member %s (names are case-sensitive)", at)
			}
			if err := checkMembers(member, field.Type, at); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && raw[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return err
		}
		for i, item := range items {
			if err := checkMembers(item, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonNames maps the JSON member names of struct type t to its fields.
func jsonNames(t reflect.Type) map[string]reflect.StructField {
	names := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names[name] = f
	}
	return names
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
