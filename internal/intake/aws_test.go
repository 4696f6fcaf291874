package intake_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/request"
)

const (
	awsSource = "com.example.netops"
	awsID     = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
	awsRule   = "arn:aws:events:eu-west-1:123456789012:rule/vpngw-requests"
	awsData   = `{"RegionId":"cn-hangzhou","VpcId":"vpc-1","Bandwidth":5}`
)

// awsEvent is a valid Amazon EventBridge request event as a generic map, for
// tests that change one member at a time.
func awsEvent() map[string]any {
	return map[string]any{
		"version":     "0",
		"id":          awsID,
		"detail-type": events.TypeRequested,
		"source":      awsSource,
		"account":     "123456789012",
		"time":        "2026-11-25T10:00:00Z",
		"region":      "eu-west-1",
		"resources":   []any{awsRule},
		"detail":      json.RawMessage(awsData),
	}
}

func awsWith(change func(m map[string]any)) map[string]any {
	m := awsEvent()
	change(m)
	return m
}

func TestFromPayloadAmazonEventBridge(t *testing.T) {
	okIdentity := request.Identity{Source: awsSource, EventID: awsID, Subject: awsRule}
	okExt := map[string]string{intake.AWSAccountExtension: "123456789012", intake.AWSRegionExtension: "eu-west-1"}
	tests := []struct {
		name    string
		payload any // a map, or a raw JSON string
		want    want
	}{
		{
			name:    "request event: detail-type is the type, detail the data, account and region kept",
			payload: awsEvent(),
			want: want{identity: okIdentity, typ: events.TypeRequested, data: awsData,
				time: "2026-11-25T10:00:00Z", extensions: okExt},
		},
		{
			name: "no resources: no subject",
			payload: awsWith(func(m map[string]any) {
				m["resources"] = []any{}
			}),
			want: want{identity: request.Identity{Source: awsSource, EventID: awsID}, typ: events.TypeRequested,
				data: awsData, time: "2026-11-25T10:00:00Z", extensions: okExt},
		},
		{
			name: "resources null, account and region absent, no time",
			payload: awsWith(func(m map[string]any) {
				m["resources"] = nil
				delete(m, "account")
				delete(m, "region")
				delete(m, "time")
			}),
			want: want{identity: request.Identity{Source: awsSource, EventID: awsID}, typ: events.TypeRequested, data: awsData},
		},
		{
			name: "several resources: the first is the subject",
			payload: awsWith(func(m map[string]any) {
				m["resources"] = []any{"arn:aws:scheduler:eu-west-1:123456789012:schedule/default/a", awsRule}
			}),
			want: want{identity: request.Identity{Source: awsSource, EventID: awsID, Subject: "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/a"},
				typ: events.TypeRequested, data: awsData, time: "2026-11-25T10:00:00Z", extensions: okExt},
		},
		{
			name: "members EventBridge may add (replay-name) and unknown ones are listed as ignored",
			payload: awsWith(func(m map[string]any) {
				m["replay-name"] = "vpngw-replay-1"
				m["X"] = 1
			}),
			want: want{identity: okIdentity, typ: events.TypeRequested, data: awsData,
				time: "2026-11-25T10:00:00Z", extensions: okExt, ignored: []string{"X", "replay-name"}},
		},
		{
			name: "another detail-type is passed through for the caller to refuse",
			payload: awsWith(func(m map[string]any) {
				m["detail-type"] = "Scheduled Event"
				m["source"] = "aws.events"
				m["detail"] = map[string]any{}
			}),
			want: want{identity: request.Identity{Source: "aws.events", EventID: awsID, Subject: awsRule}, typ: "Scheduled Event",
				data: `{}`, time: "2026-11-25T10:00:00Z", extensions: okExt},
		},
		{
			name:    "byte order mark and whitespace around the event",
			payload: "\xef\xbb\xbf \n" + string(mustJSON(t, awsEvent())) + "\n",
			want: want{identity: okIdentity, typ: events.TypeRequested, data: awsData,
				time: "2026-11-25T10:00:00Z", extensions: okExt},
		},
		{
			name: "detail null",
			payload: awsWith(func(m map[string]any) {
				m["detail"] = nil
			}),
			want: want{identity: okIdentity, typ: events.TypeRequested, time: "2026-11-25T10:00:00Z", extensions: okExt,
				problems: []string{"detail|detail: missing"}},
		},
		{
			name: "detail as a string holding an object is not unwrapped",
			payload: awsWith(func(m map[string]any) {
				m["detail"] = awsData
			}),
			want: want{identity: okIdentity, typ: events.TypeRequested, time: "2026-11-25T10:00:00Z", extensions: okExt,
				problems: []string{"detail|detail: a JSON string; want a JSON object"}},
		},
		{
			name: "detail an array",
			payload: awsWith(func(m map[string]any) {
				m["detail"] = []any{json.RawMessage(awsData)}
			}),
			want: want{identity: okIdentity, typ: events.TypeRequested, time: "2026-11-25T10:00:00Z", extensions: okExt,
				problems: []string{"detail|detail: a JSON array"}},
		},
		{
			name: "detail holding a whole CloudEvent points at InputPath",
			payload: awsWith(func(m map[string]any) {
				m["detail"] = baseEvent()
			}),
			want: want{identity: okIdentity, typ: events.TypeRequested, time: "2026-11-25T10:00:00Z", extensions: okExt,
				problems: []string{"detail|InputPath $.detail"}},
		},
		{
			name: "time not RFC 3339",
			payload: awsWith(func(m map[string]any) {
				m["time"] = "25/Nov/2026:10:00:00 +0000"
			}),
			want: want{identity: request.Identity{Source: awsSource, EventID: awsID, Subject: awsRule}, typ: events.TypeRequested,
				extensions: map[string]string{intake.AWSAccountExtension: "123456789012", intake.AWSRegionExtension: "eu-west-1"},
				problems:   []string{`time|time "25/Nov/2026:10:00:00 +0000": not an RFC 3339 timestamp`}},
		},
		{
			name: "every problem at once, the identity as far as given",
			payload: awsWith(func(m map[string]any) {
				delete(m, "id")
				m["detail-type"] = 7
				m["account"] = 123456789012
				m["resources"] = []any{awsRule, 5}
				m["time"] = false
			}),
			want: want{identity: request.Identity{Source: awsSource}, extensions: map[string]string{intake.AWSRegionExtension: "eu-west-1"},
				problems: []string{
					"id|id: missing",
					"detail-type|detail-type: a JSON number",
					"time|time: a JSON boolean",
					"resources|resources[1]: a JSON number",
					"account|account: a JSON number",
				}},
		},
		{
			name: "empty source, version not a string, resources not an array",
			payload: awsWith(func(m map[string]any) {
				m["source"] = ""
				m["version"] = 0
				m["resources"] = awsRule
			}),
			want: want{identity: request.Identity{EventID: awsID}, typ: events.TypeRequested, time: "2026-11-25T10:00:00Z", extensions: okExt,
				problems: []string{
					"source|source: empty",
					"version|version: a JSON number",
					"resources|resources: a JSON string",
				}},
		},
		{
			// specversion makes it a CloudEvent; detail-type is not an
			// attribute name and detail is not data.
			name: "with specversion it is a CloudEvent",
			payload: awsWith(func(m map[string]any) {
				m["specversion"] = "1.0"
				m["type"] = events.TypeRequested
				delete(m, "account")
				delete(m, "region")
				delete(m, "resources")
			}),
			want: want{identity: request.Identity{Source: awsSource, EventID: awsID}, typ: events.TypeRequested,
				time: "2026-11-25T10:00:00Z", ignored: []string{"detail-type"}, extensions: map[string]string{"version": "0"},
				problems: []string{"data|data: missing", "detail|detail: a JSON object; extension attributes must be"}},
		},
		{
			// Member names are case-sensitive: this is neither format, and
			// is reported against the CloudEvents rules.
			name:    "Detail-Type and Detail are not the EventBridge members",
			payload: `{"id":"a","source":"s","Detail-Type":"` + events.TypeRequested + `","Detail":` + awsData + `}`,
			want: want{identity: request.Identity{Source: "s", EventID: "a"}, ignored: []string{"Detail", "Detail-Type"},
				problems: []string{"specversion|specversion: missing", "type|type: missing", "data|data: missing"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var payload []byte
			if s, ok := tc.payload.(string); ok {
				payload = []byte(s)
			} else {
				payload = mustJSON(t, tc.payload)
			}
			items, err := intake.FromPayload(payload)
			if err != nil {
				t.Fatalf("FromPayload: %v", err)
			}
			if len(items) != 1 {
				t.Fatalf("got %d items, want 1", len(items))
			}
			checkItem(t, items[0], 0, tc.want)
			if items[0].Err == nil {
				// What was read from the EventBridge shape reads back the
				// same as a CloudEvent: one Item, whatever the envelope.
				roundTrip(t, items[0])
			}
		})
	}
}

// TestFromPayloadReadsAWSLambdaGoEvents: what aws-lambda-go's own type for the
// shape marshals to is read, so the member names are the ones AWS uses.
func TestFromPayloadReadsAWSLambdaGoEvents(t *testing.T) {
	ev := awsevents.EventBridgeEvent{
		Version:    "0",
		ID:         awsID,
		DetailType: events.TypeRequested,
		Source:     awsSource,
		AccountID:  "123456789012",
		Time:       time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Region:     "eu-west-1",
		Resources:  []string{awsRule},
		Detail:     json.RawMessage(awsData),
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	items, err := intake.FromPayload(b)
	if err != nil || len(items) != 1 {
		t.Fatalf("FromPayload: %+v, %v", items, err)
	}
	checkItem(t, items[0], 0, want{
		identity: request.Identity{Source: awsSource, EventID: awsID, Subject: awsRule},
		typ:      events.TypeRequested, data: awsData, time: "2026-11-25T10:00:00Z",
		extensions: map[string]string{intake.AWSAccountExtension: "123456789012", intake.AWSRegionExtension: "eu-west-1"},
	})

	// A redelivery of the same event is the same request.
	again, err := intake.FromPayload(b)
	if err != nil || !reflect.DeepEqual(again, items) {
		t.Fatalf("the same event read twice differs: %+v / %+v, %v", items, again, err)
	}
	if items[0].Identity.Key() == "" {
		t.Fatal("no identity key")
	}
}

// FuzzFromPayloadAmazonEventBridge runs FromPayload's properties (see
// FuzzFromPayload) from seeds in the Amazon EventBridge shape, so that the
// fuzzer starts inside it rather than having to find the hyphenated member
// names.
func FuzzFromPayloadAmazonEventBridge(f *testing.F) {
	f.Add(mustJSON(f, awsEvent()))
	f.Add(mustJSON(f, awsWith(func(m map[string]any) { m["resources"] = nil; m["replay-name"] = "r" })))
	f.Add([]byte(`{"version":"0","id":"a","detail-type":"t","source":"aws.events","account":"1","time":"x","region":"r","resources":[],"detail":{}}`))
	f.Add([]byte(`{"detail-type":"t","detail":{"specversion":"1.0"}}`))
	f.Add([]byte(`{"id":"a","source":"s","detail-type":"t","detail":"{}","resources":[1]}`))
	f.Fuzz(checkPayload)
}

// The account Amazon EventBridge stamps is the item's origin; the same
// value written by a CloudEvent's sender as an extension is not, nor is a
// stamp longer than any the platform writes. A CloudEvent's bus attribute
// is its origin, and Inputs (what a sender wrote itself) drops every origin.
func TestOriginOnlyFromThePlatformsEnvelope(t *testing.T) {
	aws := []byte(`{"version":"0","id":"a1","detail-type":"io.vpngw.gateway.requested","source":"s","account":"123456789012","region":"eu-west-1","detail":{"RegionId":"cn-hangzhou"}}`)
	ce := []byte(`{"specversion":"1.0","id":"c1","source":"s","type":"io.vpngw.gateway.requested","awsaccount":"123456789012","aliyuneventbusname":"vpngw-ci","vpngwroute":"` +
		strings.Repeat("r", 256) + `","data":{"RegionId":"cn-hangzhou"}}`)
	items, err := intake.FromPayload(aws)
	if err != nil || items[0].Origin != (policy.Origin{Account: "123456789012"}) {
		t.Fatalf("AWS event: %+v %v, want origin account 123456789012", items, err)
	}
	items, err = intake.FromPayload(ce)
	if err != nil || items[0].Origin != (policy.Origin{Bus: "vpngw-ci"}) {
		t.Fatalf("CloudEvent: %+v %v, want origin bus vpngw-ci only", items, err)
	}
	if in := provision.BusInputs(items, intake.AlibabaBus); in[0].Origin.Bus != "vpngw-ci" {
		t.Errorf("BusInputs dropped the bus: %+v", in[0].Origin)
	}
	if in := provision.BusInputs(items, intake.AmazonBus); !in[0].Origin.Zero() {
		t.Errorf("BusInputs on Amazon's bus kept the Alibaba bus the producer wrote: %+v", in[0].Origin)
	}
	awsItems, _ := intake.FromPayload(aws)
	if in := provision.BusInputs(awsItems, intake.AlibabaBus); !in[0].Origin.Zero() {
		t.Errorf("BusInputs on Alibaba's bus kept the account the producer wrote: %+v", in[0].Origin)
	}
	odd := []byte(`{"specversion":"1.0","id":"c2","source":"s","type":"io.vpngw.gateway.requested","aliyuneventbusname":"vpngw-ci\u0000","vpngwroute":"r\u00e9","data":{}}`)
	if oddItems, err := intake.FromPayload(odd); err != nil || !oddItems[0].Origin.Zero() {
		t.Errorf("stamps with a NUL or non-ASCII character: %+v %v, want them dropped", oddItems, err)
	}
	if in := provision.Inputs(items, "webhook", "ci"); !in[0].Origin.Zero() || in[0].Key != "ci" {
		t.Errorf("Inputs kept an origin %+v (key %q): a sender cannot claim a bus", in[0].Origin, in[0].Key)
	}
}
