package events_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
)

// TestBatchItemID checks the item identity rule of README.md: the event id,
// "/item-" and the index as 4 digits, so that every item of the largest
// batch has its own id and its own request key, apart from every event's
// (an event with the item's very id included), the ids sort in item order,
// IsBatchItemID knows each, and the completed schema's Id pattern takes
// each.
func TestBatchItemID(t *testing.T) {
	for _, tc := range []struct {
		id    string
		index int
		want  string
	}{
		{"e", 0, "e/item-0000"},
		{"e", 42, "e/item-0042"},
		{"7f3c9a10-5b2e-4d8c-a1f6-2e9b0c4d7a15", events.MaxBatchItems - 1, "7f3c9a10-5b2e-4d8c-a1f6-2e9b0c4d7a15/item-0999"},
	} {
		if got := events.BatchItemID(tc.id, tc.index); got != tc.want {
			t.Errorf("BatchItemID(%q, %d) = %q, want %q", tc.id, tc.index, got, tc.want)
		}
	}

	def, err := loadSchema(t, events.TypeBatchCompleted).resolve("#/$defs/BatchItemFailure")
	if err != nil {
		t.Fatal(err)
	}
	idPattern := regexp.MustCompile(def["properties"].(map[string]any)["Id"].(map[string]any)["pattern"].(string))
	const source, eventID = "/ops/portal", "batch-1"
	keys := map[string]int{request.Identity{Source: source, EventID: eventID}.Key(): -1}
	prev := ""
	for i := range events.MaxBatchItems {
		id := events.BatchItemID(eventID, i)
		if id <= prev {
			t.Fatalf("item %d: id %q does not sort after item %d's %q", i, id, i-1, prev)
		}
		prev = id
		if !idPattern.MatchString(id) {
			t.Fatalf("item %d: id %q does not match the schema's pattern %s", i, id, idPattern)
		}
		if !events.IsBatchItemID(id) {
			t.Fatalf("item %d: IsBatchItemID(%q) is false", i, id)
		}
		key := request.Identity{Source: source, EventID: id, Item: true}.Key()
		if j, dup := keys[key]; dup {
			t.Fatalf("items %d and %d (-1: the batch) share the request key %s", j, i, key)
		}
		keys[key] = i
		if ev := (request.Identity{Source: source, EventID: id}).Key(); ev == key {
			t.Fatalf("item %d and an event with its id %q share the request key %s", i, id, key)
		}
	}
	if got := request.IdentityOf(source, events.BatchItemID(eventID, 7)).Key(); got != (request.Identity{Source: source, EventID: events.BatchItemID(eventID, 7), Item: true}).Key() {
		t.Errorf("IdentityOf an item's id does not find the item's key")
	}
	for _, id := range []string{"nightly-42/0007", "/item-0007", "x/item-007", "x/item-00a7", "x/Item-0007", "x/item-0007/", "orders/2026"} {
		if events.IsBatchItemID(id) {
			t.Errorf("IsBatchItemID(%q) = true, want false", id)
		}
	}
}

// TestBatchSamples checks the completed sample is a consistent answer to the
// batch request sample, and every item of that sample is a valid request.
func TestBatchSamples(t *testing.T) {
	reqSample := sampleNamed(t, events.TypeBatchRequested+".json")
	var batch events.BatchRequest
	if err := events.DecodeData(reqSample.data, &batch); err != nil {
		t.Fatal(err)
	}
	if n := len(batch.Requests); n < 1 || n > events.MaxBatchItems {
		t.Fatalf("the batch sample has %d items, want 1 to %d", n, events.MaxBatchItems)
	}
	for i, item := range batch.Requests {
		if _, err := request.Parse(item); err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}

	var done events.BatchCompleted
	if err := events.DecodeData(sampleNamed(t, events.TypeBatchCompleted+".json").data, &done); err != nil {
		t.Fatal(err)
	}
	batchID := request.Identity{Source: reqSample.attr("source"), EventID: reqSample.attr("id"), Subject: reqSample.attr("subject")}
	if done.Request != batchID.Ref() {
		t.Errorf("Request = %+v, want the batch event %+v", done.Request, batchID.Ref())
	}
	if done.Total != len(batch.Requests) {
		t.Errorf("Total = %d, the batch has %d items", done.Total, len(batch.Requests))
	}
	if done.Active+done.Failed+done.Validated != done.Total {
		t.Errorf("Active %d + Failed %d + Validated %d != Total %d: every item must be terminal", done.Active, done.Failed, done.Validated, done.Total)
	}
	if len(done.FailedItems) != done.Failed {
		t.Errorf("FailedItems lists %d items, Failed = %d", len(done.FailedItems), done.Failed)
	}
	if done.Failed == 0 {
		t.Error("the sample should show a failed item")
	}
	for i, f := range done.FailedItems {
		if i > 0 && f.Index <= done.FailedItems[i-1].Index {
			t.Errorf("FailedItems[%d].Index %d: not in increasing index order", i, f.Index)
		}
		if f.Index < 0 || f.Index >= done.Total {
			t.Errorf("FailedItems[%d].Index %d is outside the batch of %d", i, f.Index, done.Total)
		}
		if want := events.BatchItemID(batchID.EventID, f.Index); f.EventID != want {
			t.Errorf("FailedItems[%d].Id = %q, want %q", i, f.EventID, want)
		}
		if f.Reason == "" {
			t.Errorf("FailedItems[%d] has no Reason", i)
		}
	}
}

// TestBatchSchemaLimits keeps the schemas' bounds equal to MaxBatchItems and
// checks the batch schema enforces them.
func TestBatchSchemaLimits(t *testing.T) {
	num := func(n int) json.Number { return json.Number(fmt.Sprint(n)) }
	reqSchema := loadSchema(t, events.TypeBatchRequested)
	requests := reqSchema.root["properties"].(map[string]any)["Requests"].(map[string]any)
	done := loadSchema(t, events.TypeBatchCompleted)
	props := done.root["properties"].(map[string]any)
	failure, err := done.resolve("#/$defs/BatchItemFailure")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"Requests minItems", requests["minItems"], num(1)},
		{"Requests maxItems", requests["maxItems"], num(events.MaxBatchItems)},
		{"Total maximum", props["Total"].(map[string]any)["maximum"], num(events.MaxBatchItems)},
		{"Active maximum", props["Active"].(map[string]any)["maximum"], num(events.MaxBatchItems)},
		{"Failed maximum", props["Failed"].(map[string]any)["maximum"], num(events.MaxBatchItems)},
		{"FailedItems maxItems", props["FailedItems"].(map[string]any)["maxItems"], num(events.MaxBatchItems)},
		{"Index maximum", failure["properties"].(map[string]any)["Index"].(map[string]any)["maximum"], num(events.MaxBatchItems - 1)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s is %v in the schema, want %v (MaxBatchItems)", c.what, c.got, c.want)
		}
	}

	item := string(compact(t, sampleNamed(t, "requested.json").data))
	batchOf := func(n int) []byte {
		return []byte(`{"Requests":[` + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + `]}`)
	}
	for _, tc := range []struct {
		items int
		want  []string
	}{
		{0, []string{"Requests:minItems"}},
		{1, nil},
		{events.MaxBatchItems, nil},
		{events.MaxBatchItems + 1, []string{"Requests:maxItems"}},
	} {
		var got []string
		for _, e := range reqSchema.validate(batchOf(tc.items)) {
			got = append(got, e.Path+":"+e.Keyword)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d items: schema says %v, want %v", tc.items, got, tc.want)
		}
	}
}

// TestDecodeDataLeavesBatchItems: DecodeData reads a batch's envelope
// strictly but leaves each item raw, so that one bad item does not refuse the
// batch; internal/request and the schema then flag that item alone, on the
// same parameters.
func TestDecodeDataLeavesBatchItems(t *testing.T) {
	var sampleData struct{ Requests []json.RawMessage }
	if err := json.Unmarshal(sampleNamed(t, events.TypeBatchRequested+".json").data, &sampleData); err != nil {
		t.Fatal(err)
	}
	good := sampleData.Requests
	if len(good) < 2 {
		t.Fatalf("the batch sample has %d items; the test needs two", len(good))
	}
	invalid := sampleNamed(t, "requested-invalid.json").data
	misspelt := strings.Replace(string(good[0]), `"Bandwidth"`, `"Bandwith"`, 1)
	cases := []struct {
		name string
		bad  json.RawMessage
	}{
		{"an item breaking five rules", invalid},
		{"an item with a misspelt member", json.RawMessage(misspelt)},
		{"an item that is not an object", json.RawMessage(`5`)},
	}
	schema := loadSchema(t, events.TypeBatchRequested)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const at = 1
			items := slices.Clone(good)
			items[at] = tc.bad
			data, err := json.Marshal(events.BatchRequest{Requests: items})
			if err != nil {
				t.Fatal(err)
			}
			var b events.BatchRequest
			if err := events.DecodeData(data, &b); err != nil {
				t.Fatalf("DecodeData refused the batch for one item: %v", err)
			}
			if len(b.Requests) != len(items) {
				t.Fatalf("decoded %d items, want %d", len(b.Requests), len(items))
			}
			var schemaFields []string
			for _, p := range schemaPaths(schema.validate(data)) {
				field, ok := strings.CutPrefix(p, fmt.Sprintf("Requests[%d]", at))
				if !ok {
					t.Errorf("the schema flags %s, outside the bad item %d", p, at)
					continue
				}
				if field = strings.TrimPrefix(field, "."); field == "" {
					field = request.DataField // the item as a whole
				}
				schemaFields = append(schemaFields, field)
			}
			for i, item := range b.Requests {
				fields := parseFields(item)
				switch {
				case i != at && len(fields) > 0:
					t.Errorf("item %d: request.Parse flags %v in a good item", i, fields)
				case i == at && len(fields) == 0:
					t.Errorf("item %d: request.Parse accepts %s", i, item)
				case i == at && !slices.Equal(fields, schemaFields):
					t.Errorf("item %d: request.Parse flags %v, the schema %v", i, fields, schemaFields)
				}
			}
			if len(schemaFields) == 0 {
				t.Error("the schema accepts the bad item")
			}
		})
	}
}
