package intake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
)

// sdkEvent builds a request event with the CloudEvents SDK, the way a sender
// in Go would. The subject holds a space, which the HTTP binding says binary
// mode must percent-encode; sdk-go sends it raw (cloudevents/sdk-go#1331),
// and it must still be read back as sent. (A value holding "%XX" is where the
// two part: it is decoded here, as the binding requires, and sent raw by
// sdk-go. The package documentation says so.)
func sdkEvent(t *testing.T, id string, rawData bool) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("/senders/sdk-go")
	e.SetType(events.TypeRequested)
	e.SetSubject("team c")
	e.SetTime(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC))
	e.SetExtension("aliyunpublishtime", "2024-03-01T10:00:00.100Z")
	e.SetExtension("attempt", 3)
	e.SetExtension("dryrun", false)
	e.SetExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req := events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-" + id, Name: "gw-" + id}
	var err error
	if rawData {
		// []byte data is written as data_base64 in the JSON format.
		b, _ := json.Marshal(req)
		err = e.SetData(event.ApplicationJSON, b)
	} else {
		err = e.SetData(event.ApplicationJSON, req)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func checkSDKItem(t *testing.T, it intake.Item, index int, id string) {
	t.Helper()
	checkItem(t, it, index, want{
		identity:    request.Identity{Source: "/senders/sdk-go", EventID: id, Subject: "team c"},
		typ:         events.TypeRequested,
		time:        "2024-03-01T10:00:00Z",
		traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		data:        fmt.Sprintf(`{"RegionId":"cn-hangzhou","VpcId":"vpc-%s","Bandwidth":null,"Name":"gw-%s"}`, id, id),
		extensions:  map[string]string{"aliyunpublishtime": "2024-03-01T10:00:00.100Z", "attempt": "3", "dryrun": "false"},
	})
}

func TestSDKJSONFormat(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("data_base64=%v", raw), func(t *testing.T) {
			e := sdkEvent(t, "json-1", raw)
			payload, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			items, err := intake.FromPayload(payload)
			if err != nil {
				t.Fatal(err)
			}
			checkSDKItem(t, items[0], 0, "json-1")
		})
	}
}

func TestSDKHTTPModes(t *testing.T) {
	ctx := context.Background()
	t.Run("binary, with a header the SDK itself cannot read", func(t *testing.T) {
		r, err := cehttp.NewHTTPRequestFromEvent(binding.WithForceBinary(ctx), "http://vpngw.test/", sdkEvent(t, "bin-1", false))
		if err != nil {
			t.Fatal(err)
		}
		if r.Header.Get("Ce-Id") != "bin-1" {
			t.Fatalf("the SDK did not write binary mode: %v", r.Header)
		}
		r.Header.Set("Ce-Fc-Code-Checksum", "1234567890")
		items, err := intake.FromHTTP(r, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Fatalf("got %d items", len(items))
		}
		it := items[0]
		it.Ignored = nil // checked in http_test.go; checkSDKItem wants none
		checkSDKItem(t, it, 0, "bin-1")
	})
	t.Run("structured", func(t *testing.T) {
		r, err := cehttp.NewHTTPRequestFromEvent(binding.WithForceStructured(ctx), "http://vpngw.test/", sdkEvent(t, "st-1", false))
		if err != nil {
			t.Fatal(err)
		}
		items, err := intake.FromHTTP(r, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Fatalf("got %d items", len(items))
		}
		checkSDKItem(t, items[0], 0, "st-1")
	})
	t.Run("batch", func(t *testing.T) {
		evs := []event.Event{sdkEvent(t, "b-0", false), sdkEvent(t, "b-1", true), sdkEvent(t, "b-2", false)}
		r, err := cehttp.NewHTTPRequestFromEvents(ctx, "http://vpngw.test/", evs)
		if err != nil {
			t.Fatal(err)
		}
		items, err := intake.FromHTTP(r, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != len(evs) {
			t.Fatalf("got %d items, want %d", len(items), len(evs))
		}
		for i := range evs {
			checkSDKItem(t, items[i], i, fmt.Sprintf("b-%d", i))
		}
	})
}
