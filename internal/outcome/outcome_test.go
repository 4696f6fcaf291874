package outcome_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/outcome"
)

func TestIDsDependOnlyOnRequestAndType(t *testing.T) {
	a := outcome.ID("key-1", events.TypeActive)
	if a != outcome.ID("key-1", events.TypeActive) {
		t.Fatal("the same outcome got two ids")
	}
	if a == outcome.ID("key-1", events.TypeFailed) || a == outcome.ID("key-2", events.TypeActive) {
		t.Fatal("different outcomes share an id")
	}
	if len(a) != 36 || a[8] != '-' || a[13] != '-' {
		t.Fatalf("id %q is not UUID-shaped", a)
	}
}

func TestNewBuildsAStructuredCloudEvent(t *testing.T) {
	m := outcome.Meta{RequestKey: "k", Subject: "vpn-1", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		Time: time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	e1, err := outcome.New(events.TypeAccepted, m, events.Accepted{VpnGatewayId: "vpn-1"})
	if err != nil {
		t.Fatal(err)
	}
	m.Time = m.Time.Add(time.Hour) // a republish, later
	e2, _ := outcome.New(events.TypeAccepted, m, events.Accepted{VpnGatewayId: "vpn-1"})
	if e1.ID != e2.ID {
		t.Fatal("a republished outcome changed its id")
	}
	var got map[string]any
	if err := json.Unmarshal(e1.Body, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"specversion": "1.0", "source": events.Source, "type": events.TypeAccepted,
		"subject": "vpn-1", "id": e1.ID, "traceparent": m.TraceParent, "datacontenttype": "application/json", "time": "2026-11-25T02:00:00Z"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %q", k, got[k], want)
		}
	}
}
