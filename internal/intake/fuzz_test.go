package intake_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/policy"
)

func addTestdataSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	samples, err := fs.Glob(events.Samples, "testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range samples {
		b, err := fs.ReadFile(events.Samples, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzFromPayload checks that no payload makes FromPayload panic, that it is
// deterministic, and the round trip: every item it accepts has a non-empty
// source, id and type and a JSON object as data, and reads back the same when
// written out again as a structured event.
func FuzzFromPayload(f *testing.F) {
	addTestdataSeeds(f)
	for _, s := range []string{
		``, `[]`, `null`, `"x"`, `[1,"2",null]`, `{}`,
		`{"specversion":"1.0","id":"a","source":"/s","type":"t","data":"{\"a\":1}"}`,
		`{"specversion":"1.0","id":"a","source":"/s","type":"t","data_base64":"e30="}`,
		`{"specversion":"1.0","id":"a","source":"/s","type":"t","datacontenttype":"text/plain","data":"x","x":{"y":1}}`,
		`["{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"data\":{}}"]`,
		`{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{},"n":1.5e3,"b":true,"z":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkPayload)
}

// checkPayload is FromPayload's properties for one payload: the result
// checks out, is the same when read again, and every accepted item
// survives the round trip.
func checkPayload(t *testing.T, payload []byte) {
	items, err := intake.FromPayload(payload)
	checkResult(t, items, err)
	again, err2 := intake.FromPayload(payload)
	if !reflect.DeepEqual(items, again) || !reflect.DeepEqual(err, err2) {
		t.Fatalf("not deterministic:\n%+v %v\n%+v %v", items, err, again, err2)
	}
	for _, it := range items {
		if it.Err == nil {
			roundTrip(t, it)
		}
	}
}

// FuzzFromHTTPMessage checks binary, structured and batch mode the same way,
// with an arbitrary content type, one arbitrary header and an arbitrary body.
func FuzzFromHTTPMessage(f *testing.F) {
	f.Add("application/json", "Ce-Fc-Code-Checksum", "123", []byte(`{"VpcId":"v"}`))
	f.Add("", "Ce-Subject", "a%20b%C0%A0", []byte(`"{\"VpcId\":\"v\"}"`))
	f.Add("text/plain", "ce-id", "x", []byte(`hello`))
	f.Add(intake.MediaTypeStructured, "Ce-Specversion", "1.0",
		[]byte(`{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{}}`))
	f.Add(intake.MediaTypeBatch+"; charset=utf-8", "Content-Encoding", "identity",
		[]byte(`[{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{}},{}]`))
	f.Fuzz(func(t *testing.T, contentType, name, value string, body []byte) {
		h := http.Header{
			"Ce-Specversion": {"1.0"},
			"Ce-Id":          {"fuzz"},
			"Ce-Source":      {"/fuzz"},
			"Ce-Type":        {"t"},
		}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		h[name] = append(h[name], value)
		items, err := intake.FromHTTPMessage(h, body)
		checkResult(t, items, err)
	})
}

// checkResult checks what must hold of any result.
func checkResult(t *testing.T, items []intake.Item, err error) {
	t.Helper()
	if err != nil {
		var ie *intake.Error
		if !errors.As(err, &ie) {
			t.Fatalf("error %v is %T, want *intake.Error", err, err)
		}
		if ie.Msg == "" || ie.Kind.String() == "unknown" {
			t.Fatalf("bad error %+v", ie)
		}
		if items != nil {
			t.Fatalf("items and an error: %+v, %v", items, err)
		}
		return
	}
	if len(items) > intake.MaxBatch {
		t.Fatalf("%d items, over MaxBatch", len(items))
	}
	for i, it := range items {
		if it.Index != i {
			t.Fatalf("item %d has Index %d", i, it.Index)
		}
		if it.Err != nil {
			var ee *intake.EventError
			if !errors.As(it.Err, &ee) || len(ee.Problems) == 0 {
				t.Fatalf("item %d: Err %v is %T or empty, want *intake.EventError with problems", i, it.Err, it.Err)
			}
			for _, p := range ee.Problems {
				if p.Field == "" || p.Message == "" {
					t.Fatalf("item %d: problem without field or message: %+v", i, p)
				}
			}
			if it.Data != nil {
				t.Fatalf("item %d: malformed but has Data %q", i, it.Data)
			}
			continue
		}
		if it.Identity.Source == "" || it.Identity.EventID == "" || it.Type == "" {
			t.Fatalf("item %d accepted without source, id or type: %+v", i, it)
		}
		if obj, ok := decodeJSON(it.Data).(map[string]any); len(it.Data) == 0 || it.Data[0] != '{' || !ok || obj == nil {
			t.Fatalf("item %d accepted with data that is not a JSON object: %q", i, it.Data)
		}
	}
}

// roundTrip writes an accepted item out as a structured event and checks that
// it reads back the same.
func roundTrip(t *testing.T, it intake.Item) {
	t.Helper()
	m := map[string]any{
		"specversion": "1.0",
		"id":          it.Identity.EventID,
		"source":      it.Identity.Source,
		"type":        it.Type,
		"data":        json.RawMessage(it.Data),
	}
	if it.Identity.Subject != "" {
		m["subject"] = it.Identity.Subject
	}
	if it.Time != "" {
		m["time"] = it.Time
	}
	if it.TraceParent != "" {
		m["traceparent"] = it.TraceParent
	}
	for k, v := range it.Extensions {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %+v: %v", it, err)
	}
	back, err := intake.FromPayload(b)
	if err != nil || len(back) != 1 {
		t.Fatalf("round trip of %s: %+v, %v", b, back, err)
	}
	got, wantItem := back[0], it
	wantItem.Ignored = nil // not written out
	wantItem.Index = 0     // read back as a single event
	// Data is compared as JSON: json.Marshal compacts a RawMessage.
	if g, w := decodeJSON(got.Data), decodeJSON(wantItem.Data); g == nil || !reflect.DeepEqual(g, w) {
		t.Fatalf("round trip changed data: %s -> %s", wantItem.Data, got.Data)
	}
	got.Data, wantItem.Data = nil, nil
	got.Raw, wantItem.Raw = nil, nil // the bytes as they arrived differ by construction
	// The origin is the envelope's: an AWS account written out as the
	// awsaccount extension of a CloudEvent is something its writer claims,
	// not what Amazon EventBridge stamped.
	if got.Origin.Account != "" {
		t.Fatalf("round trip read an account %q from a CloudEvent's extension", got.Origin.Account)
	}
	got.Origin, wantItem.Origin = policy.Origin{}, policy.Origin{}
	if !reflect.DeepEqual(got, wantItem) {
		t.Fatalf("round trip changed the item:\n got %+v\nwant %+v", got, wantItem)
	}
}

// decodeJSON decodes b, keeping numbers as written so that values beyond
// float64 (1e400) still decode; nil when b is not one JSON value.
func decodeJSON(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil
	}
	return v
}
