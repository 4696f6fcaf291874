package outcome_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/outgoing"
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

// worst is a string of n bytes that JSON spells in six bytes each: control
// characters (\u0001) and bytes that are not UTF-8 (\ufffd) alternate.
func worst(n int) string {
	b := make([]byte, n)
	for i := range b {
		if i%2 == 0 {
			b[i] = 0x01
		} else {
			b[i] = 0xff
		}
	}
	return string(b)
}

// TestOutcomesStayUnderTheSizeBound builds the largest outcome of every type
// (failed, batch summary, accepted, active, validated) anyone could ask for: a million errors, every string a megabyte of
// the characters JSON spells longest. Each must stay under
// events.MaxOutcomeBytes, keep the first MaxErrors errors (or as many failed
// items as fit) in order and count the rest.
// newWithinBound makes the outcome of type typ for data, wants it within
// events.MaxOutcomeBytes (what names it), and decodes it into v.
func newWithinBound(t *testing.T, what, typ string, m outcome.Meta, data, v any) outgoing.Event {
	t.Helper()
	e, err := outcome.New(typ, m, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Body) > events.MaxOutcomeBytes {
		t.Errorf("%s: %d bytes, over the bound of %d", what, len(e.Body), events.MaxOutcomeBytes)
	}
	if err := json.Unmarshal(e.Body, v); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOutcomesStayUnderTheSizeBound(t *testing.T) {
	big := worst(1 << 20)
	m := outcome.Meta{RequestKey: "k", Subject: big, TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", Time: time.Now()}
	ref := events.RequestRef{Source: big, EventID: big, Subject: big}

	errs := make([]events.FieldError, 1_000_000)
	for i := range errs {
		errs[i] = events.FieldError{Field: "F" + big[:i%7], Value: big, Allowed: big, Message: big}
	}
	f := events.Failed{Request: ref, Stage: big, Code: big, Message: big, Errors: errs, RequestId: big, VpnGatewayId: big, RegionId: big}
	var got struct{ Data events.Failed }
	e := newWithinBound(t, "worst failed event", events.TypeFailed, m, f, &got)
	if n := len(got.Data.Errors); n == 0 || n+got.Data.ErrorsOmitted != len(errs) {
		t.Errorf("worst failed event keeps %d errors and omits %d; want some kept and the rest of %d counted", n, got.Data.ErrorsOmitted, len(errs))
	}
	t.Logf("worst failed event: %d bytes, %d errors kept, %d omitted", len(e.Body), len(got.Data.Errors), got.Data.ErrorsOmitted)

	// Many ordinary errors: exactly the first 50 are kept.
	plain := make([]events.FieldError, 200)
	for i := range plain {
		plain[i] = events.FieldError{Field: fmt.Sprintf("Extra%03d", i), Allowed: "one of RegionId, VpcId, Bandwidth", Message: fmt.Sprintf("Extra%03d is not a parameter", i)}
	}
	e, err := outcome.New(events.TypeFailed, outcome.Meta{RequestKey: "k", Time: time.Now()}, events.Failed{Request: events.RequestRef{Source: "/s", EventID: "1"},
		Stage: events.StageValidation, Code: events.CodeInvalidRequest, Message: "invalid", Errors: plain})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(e.Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data.Errors) != events.MaxErrors || got.Data.ErrorsOmitted != 150 || got.Data.Errors[49].Field != "Extra049" {
		t.Errorf("200 errors: kept %d (last %+v), omitted %d; want the first %d and 150 counted",
			len(got.Data.Errors), got.Data.Errors[len(got.Data.Errors)-1], got.Data.ErrorsOmitted, events.MaxErrors)
	}

	items := make([]events.BatchItemFailure, events.MaxBatchItems)
	for i := range items {
		items[i] = events.BatchItemFailure{Index: i, EventID: big, VpnGatewayId: big, Reason: big}
	}
	b := events.BatchCompleted{Request: ref, Total: len(items), Failed: len(items), FailedItems: items}
	var sum struct{ Data events.BatchCompleted }
	e = newWithinBound(t, "worst batch summary", events.TypeBatchCompleted, m, b, &sum)
	if n := len(sum.Data.FailedItems); n == 0 || n+sum.Data.FailedItemsOmitted != len(items) || sum.Data.FailedItems[n-1].Index != n-1 {
		t.Errorf("worst batch summary keeps %d items and omits %d; want the first ones kept and the rest of %d counted", n, sum.Data.FailedItemsOmitted, len(items))
	}
	t.Logf("worst batch summary: %d bytes, %d items kept, %d omitted", len(e.Body), len(sum.Data.FailedItems), sum.Data.FailedItemsOmitted)

	tags := make([]events.Tag, 30)
	for i := range tags {
		tags[i] = events.Tag{Key: big, Value: big}
	}
	n := 10
	yes := true
	for _, c := range []struct {
		typ  string
		data any
	}{
		{events.TypeAccepted, events.Accepted{Request: ref, VpnGatewayId: big, RegionId: big, VpcId: big, Name: big, ClientToken: big, RequestId: big}},
		{events.TypeActive, events.Active{Request: ref, VpnGatewayId: big, RegionId: big, VpcId: big, Name: big, Status: big, BusinessStatus: big,
			Spec: big, InternetIp: big, DisasterRecoveryInternetIp: big, SslVpnInternetIp: big, ChargeType: big}},
		{events.TypeValidated, events.Validated{Request: ref, ClientToken: big, WouldCreate: true, Parameters: events.GatewayRequest{
			RegionId: big, VpcId: big, Bandwidth: &n, Name: big, InstanceChargeType: big, Period: &n, AutoPay: &yes, EnableIpsec: &yes,
			EnableSsl: &yes, SslConnections: &n, VSwitchId: big, VpnType: big, ClientToken: big, NetworkType: big,
			DisasterRecoveryVSwitchId: big, ResourceGroupId: big, Tags: tags}}},
	} {
		e, err := outcome.New(c.typ, m, c.data)
		if err != nil {
			t.Errorf("worst %s event: %v", c.typ, err)
			continue
		}
		if len(e.Body) > events.MaxOutcomeBytes {
			t.Errorf("worst %s event: %d bytes, over the bound of %d", c.typ, len(e.Body), events.MaxOutcomeBytes)
		}
		t.Logf("worst %s event: %d bytes", c.typ, len(e.Body))
	}
}

// TestNewRefusesAnEventOverTheBound: data of a type New does not bound
// comes back as an error naming the size, never as an outcome a broker
// would refuse.
func TestNewRefusesAnEventOverTheBound(t *testing.T) {
	data := map[string]string{"Note": string(make([]byte, events.MaxOutcomeBytes))}
	_, err := outcome.New(events.TypeAccepted, outcome.Meta{RequestKey: "k", Time: time.Now()}, data)
	if err == nil || !strings.Contains(err.Error(), "MaxOutcomeBytes") {
		t.Fatalf("an event over the bound: err %v, want one naming MaxOutcomeBytes", err)
	}
}

// ID is the UUID-shaped digest it always was: the first 16 bytes of
// SHA-256 of key, a newline and the type, in hex, dashed 8-4-4-4-12.
func TestIDIsTheDigestItWas(t *testing.T) {
	for _, c := range []struct{ key, typ string }{{"k", "t"}, {"", ""}, {"src\x00id", "io.vpngw.gateway.accepted/2"}} {
		sum := sha256.Sum256([]byte(c.key + "\n" + c.typ))
		h := hex.EncodeToString(sum[:16])
		want := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		if got := outcome.ID(c.key, c.typ); got != want {
			t.Errorf("ID(%q, %q) = %s, want %s", c.key, c.typ, got, want)
		}
	}
}

func BenchmarkID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = outcome.ID("acs:eventbridge:cn-hangzhou:123:/custom/vpngw\x00bench-1-1", "io.vpngw.gateway.accepted")
	}
}
