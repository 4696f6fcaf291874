package jsonread_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vpngw/vpngw/internal/jsonread"
)

var cases = []struct {
	raw string
	ok  bool
}{
	{`""`, true},
	{`"cn-hangzhou"`, true},
	{`"héllo 世界"`, true},
	{`"a\"b"`, false},
	{`"a\nb"`, false},
	{`"\u0041"`, false},
	{"\"a\tb\"", false},
	{"\"a\x7fb\"", true},
	{"\"\xff\"", false},
	{"\"\xe2\x80\"", false},
	{`"a"b"`, false},
	{` "a"`, false},
	{`"a" `, false},
	{`"`, false},
	{`5`, false},
	{`null`, false},
	{`{"a":"b"}`, false},
}

// Every string Unquote takes decodes to the same value with encoding/json.
func TestUnquoteAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range cases {
		s, ok := jsonread.Unquote([]byte(c.raw))
		if ok != c.ok {
			t.Errorf("Unquote(%q): ok %v, want %v", c.raw, ok, c.ok)
		}
		if ok {
			agree(t, []byte(c.raw), s)
		}
	}
}

func FuzzUnquote(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if s, ok := jsonread.Unquote(raw); ok {
			agree(t, raw, s)
		}
	})
}

func agree(t *testing.T, raw []byte, s string) {
	t.Helper()
	var want string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("Unquote(%q) took what encoding/json refuses: %v", raw, err)
	}
	if s != want {
		t.Fatalf("Unquote(%q) = %q, encoding/json %q", raw, s, want)
	}
}

func BenchmarkUnquote(b *testing.B) {
	raw := []byte(`"acs:eventbridge:cn-hangzhou:123456789:/custom/vpngw"`)
	for b.Loop() {
		if _, ok := jsonread.Unquote(raw); !ok {
			b.Fatal("not taken")
		}
	}
}

var objects = []string{
	`{}`,
	" \t\r\n{ \"a\" :\r1 ,\n\"b\":[1,{\"c\":\"]}\\\"\"}] ,\"a\":null, \"\\u0061\": {\"x\":{}} }\n",
	`{"specversion":"1.0","id":"e1","source":"s","type":"t","data":{"RegionId":"cn-hangzhou","Tags":[{"Key":"k","Value":"v"}]},"n":-1.5e3,"b":true}`,
	"{\"\xff\":\"caf\xc3\xa9\",\"\":\"\"}",
}

// Members read into a map is what json.Unmarshal makes of the object (a
// repeated name: the last value).
func TestMembersAgreeWithEncodingJSON(t *testing.T) {
	for _, s := range objects {
		sameMembers(t, []byte(s))
	}
}

func FuzzMembers(f *testing.F) {
	for _, s := range objects {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if jsonread.ValidObject(data) {
			sameMembers(t, data)
		}
	})
}

func sameMembers(t *testing.T, data []byte) {
	t.Helper()
	if !jsonread.ValidObject(data) {
		t.Fatalf("ValidObject(%q) = false", data)
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("json.Unmarshal(%q): %v", data, err)
	}
	got := map[string]json.RawMessage{}
	jsonread.Members(data, func(name, raw []byte) { got[string(name)] = raw })
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Members(%q) = %q, json.Unmarshal %q", data, got, want)
	}
}

// Elements gives each element of an array as json.Unmarshal into
// []json.RawMessage does.
func FuzzElements(f *testing.F) {
	for _, s := range []string{`[]`, `[ ]`, `[1, "a]", {"b":[2,3]} ,null,[[]]]`, "[\t\r\n1\r]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != '[' || !json.Valid(data) {
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		got := []json.RawMessage{}
		jsonread.Elements(data, func(e []byte) { got = append(got, e) })
		if len(want) == 0 && len(got) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Elements(%q) = %q, json.Unmarshal %q", data, got, want)
		}
	})
}
