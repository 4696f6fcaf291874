package jsonstr_test

import (
	"encoding/json"
	"testing"

	"github.com/vpngw/vpngw/internal/jsonstr"
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
		s, ok := jsonstr.Unquote([]byte(c.raw))
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
		if s, ok := jsonstr.Unquote(raw); ok {
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
		if _, ok := jsonstr.Unquote(raw); !ok {
			b.Fatal("not taken")
		}
	}
}
