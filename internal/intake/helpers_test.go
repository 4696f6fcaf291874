package intake_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want describes one expected item. Zero-valued fields other than Identity,
// Type and Index are not checked unless named in the check.
type want struct {
	identity    request.Identity
	typ         string
	data        string // JSON; compared semantically; "" = must be nil
	traceParent string
	time        string
	extensions  map[string]string // nil = must be empty
	ignored     []string          // nil = must be empty
	// problems lists "field|message substring" per expected problem, in
	// order; empty = Err must be nil.
	problems []string
}

// checkItems checks what from (FromHTTP, FromPayload) answered: no error,
// and the items wanted, in order.
func checkItems(t *testing.T, from string, items []intake.Item, err error, want []want) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", from, err)
	}
	if len(items) != len(want) {
		t.Fatalf("got %d items, want %d: %+v", len(items), len(want), items)
	}
	for i, w := range want {
		checkItem(t, items[i], i, w)
	}
}

// fullBatch is a batch of intake.MaxBatch events, event(i) the i-th.
func fullBatch(event func(i int) string) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := range intake.MaxBatch {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(event(i))
	}
	b.WriteString("]")
	return []byte(b.String())
}

func checkItem(t *testing.T, got intake.Item, index int, w want) {
	t.Helper()
	if got.Index != index {
		t.Errorf("item %d: Index = %d", index, got.Index)
	}
	if got.Identity != w.identity {
		t.Errorf("item %d: Identity = %+v, want %+v", index, got.Identity, w.identity)
	}
	if got.Type != w.typ {
		t.Errorf("item %d: Type = %q, want %q", index, got.Type, w.typ)
	}
	if got.TraceParent != w.traceParent {
		t.Errorf("item %d: TraceParent = %q, want %q", index, got.TraceParent, w.traceParent)
	}
	if got.Time != w.time {
		t.Errorf("item %d: Time = %q, want %q", index, got.Time, w.time)
	}
	if len(got.Extensions)+len(w.extensions) > 0 && !reflect.DeepEqual(got.Extensions, w.extensions) {
		t.Errorf("item %d: Extensions = %v, want %v", index, got.Extensions, w.extensions)
	}
	if len(got.Ignored)+len(w.ignored) > 0 && !reflect.DeepEqual(got.Ignored, w.ignored) {
		t.Errorf("item %d: Ignored = %q, want %q", index, got.Ignored, w.ignored)
	}
	if w.data == "" {
		if got.Data != nil {
			t.Errorf("item %d: Data = %s, want nil", index, got.Data)
		}
	} else {
		requireSameJSON(t, got.Data, w.data)
	}
	checkProblems(t, got.Err, w.problems)
}

// checkProblems checks that err is an *intake.EventError whose problems
// match wantProblems ("field|message substring") in order.
func checkProblems(t *testing.T, err error, wantProblems []string) {
	t.Helper()
	if len(wantProblems) == 0 {
		if err != nil {
			t.Errorf("Err = %v, want nil", err)
		}
		return
	}
	var ee *intake.EventError
	if !errors.As(err, &ee) {
		t.Fatalf("Err = %v (%T), want *intake.EventError", err, err)
	}
	if len(ee.Problems) != len(wantProblems) {
		t.Fatalf("got %d problems %s, want %d %q", len(ee.Problems), fmtProblems(ee.Problems), len(wantProblems), wantProblems)
	}
	for i, wp := range wantProblems {
		field, sub, _ := strings.Cut(wp, "|")
		p := ee.Problems[i]
		if p.Field != field || !strings.Contains(p.Message, sub) {
			t.Errorf("problem %d = {%s: %q}, want {%s: …%q…}", i, p.Field, p.Message, field, sub)
		}
		if !strings.Contains(err.Error(), p.Message) {
			t.Errorf("Error() = %q does not contain problem %q", err.Error(), p.Message)
		}
	}
}

func fmtProblems(ps []events.FieldError) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("[" + p.Field + ": " + p.Message + "]")
	}
	return b.String()
}

func requireSameJSON(t *testing.T, got []byte, wantJSON string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("Data %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(wantJSON), &w); err != nil {
		t.Fatalf("bad want JSON %q: %v", wantJSON, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("Data = %s, want %s", got, wantJSON)
	}
}

// checkEnvelopeError checks that err is an *intake.Error of kind k whose
// message holds sub.
func checkEnvelopeError(t *testing.T, err error, k intake.Kind, sub string) {
	t.Helper()
	var ie *intake.Error
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v (%T), want *intake.Error", err, err)
	}
	if ie.Kind != k {
		t.Errorf("Kind = %v, want %v (err %q)", ie.Kind, k, ie.Msg)
	}
	if !strings.Contains(ie.Error(), sub) {
		t.Errorf("err = %q, want it to contain %q", ie.Error(), sub)
	}
}

// baseEvent is a valid request event as a generic map, for tests that break
// one attribute at a time.
func baseEvent() map[string]any {
	return map[string]any{
		"specversion":     "1.0",
		"id":              "req-1",
		"source":          "/tests",
		"type":            events.TypeRequested,
		"subject":         "team-a",
		"datacontenttype": "application/json",
		"data":            map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-1", "Bandwidth": 5},
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
