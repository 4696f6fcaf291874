package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// validData is a request the emulator's default seed accepts.
func validData() map[string]any {
	return map[string]any{
		"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1vpngwdemo0000001", "Bandwidth": 10,
		"VSwitchId": "vsw-bp1vpngwdemo0000001", "DisasterRecoveryVSwitchId": "vsw-bp1vpngwdemo0000002",
		"Name": "test-gateway", "InstanceChargeType": "POSTPAY",
	}
}

// requestEvent is a structured CloudEvent as EventBridge delivers it.
func requestEvent(id string, data map[string]any) []byte {
	ev := map[string]any{
		"specversion": "1.0", "id": id, "source": "acs:eventbridge:tickets", "type": events.TypeRequested,
		"subject": "ticket-" + id, "time": "2026-11-25T10:00:00Z",
		"datacontenttype": "application/json;charset=utf-8",
		"aliyunaccountid": "123456789", "aliyunpublishtime": "2026-11-25T10:00:00.123Z",
		"aliyuneventbusname": "vpngw", "aliyunregionid": "cn-hangzhou", "aliyunpublishaddr": "10.0.0.1",
		"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"data":        data,
	}
	b, _ := json.Marshal(ev)
	return b
}

// provisionOn delivers payload to a's provision handler, as the platform
// does, under an invocation deadline d from now, and returns its answer.
func provisionOn(a *app.App, d time.Duration, payload []byte) (app.ProvisionResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, err := a.ProvisionHandler()(ctx, payload)
	if out == nil {
		return app.ProvisionResponse{}, err
	}
	return out.(app.ProvisionResponse), err
}

// retryDeadline is an invocation deadline that leaves a second for API
// calls after the reserve the provision use case keeps to record outcomes:
// a delivery the API keeps failing ends in time to ask for a retry.
const retryDeadline = 4 * time.Second

// deliverFailing delivers validData under id with retryDeadline while the
// API is failing: the invocation must fail, so that the platform delivers
// it again.
func (s *stack) deliverFailing(id string) {
	s.t.Helper()
	if _, err := provisionOn(s.App, retryDeadline, requestEvent(id, validData())); err == nil {
		s.t.Fatalf("%s: the invocation succeeded while the API fails; a transient failure must fail it so the platform redelivers", id)
	}
}

func (s *stack) provision(payload []byte) (app.ProvisionResponse, error) {
	s.t.Helper()
	return provisionOn(s.App, 20*time.Second, payload)
}

func TestProvisionAcceptsAndAnnounces(t *testing.T) {
	s := newStack(t)
	resp, err := s.provision(requestEvent("evt-1", validData()))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 1 || resp.Results[0].State != store.Pending || !strings.HasPrefix(resp.Results[0].VpnGatewayId, "vpn-") {
		t.Fatalf("results = %+v, want one pending with a gateway id", resp.Results)
	}
	gws := s.API.Gateways()
	if len(gws) != 1 || gws[0].ID != resp.Results[0].VpnGatewayId {
		t.Fatalf("emulator holds %+v, want the one gateway %s", gws, resp.Results[0].VpnGatewayId)
	}
	acc := s.Events(1)
	if len(acc) != 1 || acc[0].Type != events.TypeAccepted || acc[0].Subject != gws[0].ID {
		t.Fatalf("events = %+v, want one accepted with subject %s", acc, gws[0].ID)
	}
	var data events.Accepted
	if err := json.Unmarshal(acc[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.Request.EventID != "evt-1" || data.Request.Source != "acs:eventbridge:tickets" || data.Request.Subject != "ticket-evt-1" ||
		data.OrderId == 0 || data.RequestId == "" || !strings.HasPrefix(data.ClientToken, "vpngw-") {
		t.Fatalf("accepted data = %+v", data)
	}
}

func TestProvisionRedeliveredConcurrentlyCreatesOneGateway(t *testing.T) {
	s := newStack(t)
	payload := requestEvent("evt-dup", validData())
	var wg sync.WaitGroup
	errs := make([]error, 6)
	ids := make([]string, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.provision(payload)
			errs[i] = err
			if len(r.Results) == 1 {
				ids[i] = r.Results[0].VpnGatewayId
			}
		}()
	}
	wg.Wait()
	for i := range 6 {
		if errs[i] != nil || ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("delivery %d: id %q err %v; want all the same gateway", i, ids[i], errs[i])
		}
	}
	if n := len(s.API.Gateways()); n != 1 {
		t.Fatalf("emulator holds %d gateways, want 1", n)
	}
	if acc := s.EventsOfType(events.TypeAccepted); len(acc) != 1 {
		t.Fatalf("%d accepted events, want 1 (%+v)", len(acc), acc)
	}
}

func TestProvisionRejectsInvalidWithoutAPICall(t *testing.T) {
	s := newStack(t)
	d := validData()
	d["Bandwith"] = 10 // the typo must not be dropped
	d["Bandwidth"] = 7
	d["NetworkType"] = "private"
	d["EnableSsl"] = true
	resp, err := s.provision(requestEvent("evt-bad", d))
	if err != nil {
		t.Fatalf("a rejected request must not fail the invocation: %v", err)
	}
	r := resp.Results[0]
	if r.State != store.Failed || r.Code != events.CodeInvalidRequest {
		t.Fatalf("result = %+v, want failed InvalidRequest", r)
	}
	fields := map[string]bool{}
	for _, e := range r.Errors {
		fields[e.Field] = true
	}
	if !fields["Bandwith"] {
		t.Errorf("errors %+v do not name the unknown field Bandwith", r.Errors)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for an invalid request, want 0", n)
	}
	data := onlyEvent[events.Failed](t, s, events.TypeFailed)
	if data.Stage != events.StageValidation || len(data.Errors) == 0 || data.Request.EventID != "evt-bad" {
		t.Fatalf("failed data = %+v", data)
	}
	// Redelivered, it answers from the record: still no API call, no second event.
	if _, err := s.provision(requestEvent("evt-bad", d)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.EventsOfType(events.TypeFailed)); n != 1 {
		t.Fatalf("%d failed events after redelivery, want 1", n)
	}
}

func TestProvisionPermanentAPIErrorIsRecordedAndAnnounced(t *testing.T) {
	s := newStack(t)
	d := validData()
	d["VpcId"] = "vpc-bp1doesnotexist00000"
	resp, err := s.provision(requestEvent("evt-novpc", d))
	if err != nil {
		t.Fatalf("a permanent API error must not fail the invocation: %v", err)
	}
	if r := resp.Results[0]; r.State != store.Failed || r.Code != "InvalidVpcId.NotFound" {
		t.Fatalf("result = %+v, want failed InvalidVpcId.NotFound", r)
	}
	data := onlyEvent[events.Failed](t, s, events.TypeFailed)
	if data.Stage != events.StageCreate || data.Code != "InvalidVpcId.NotFound" || data.RequestId == "" {
		t.Fatalf("failed data = %+v, want stage create, the API's code and RequestId", data)
	}
}

func TestProvisionTransientFailureKeepsRecordAndRetries(t *testing.T) {
	s := newStack(t)
	s.API.SetFaults(vpcsim.Faults{ServerErrorRate: 1})
	s.deliverFailing("evt-5xx")
	key := requestKey("acs:eventbridge:tickets", "evt-5xx")
	rec, gerr := s.App.Store.Get(context.Background(), key)
	if gerr != nil || rec.State != store.Received || rec.Attempts == 0 || rec.LastError == "" {
		t.Fatalf("record = %+v, %v; want it kept Received with the attempt and reason", rec, gerr)
	}
	s.API.SetFaults(vpcsim.Faults{})
	resp, err := s.provision(requestEvent("evt-5xx", validData()))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("redelivery: %+v, %v", resp, err)
	}
	if n := len(s.API.Gateways()); n != 1 {
		t.Fatalf("%d gateways, want 1", n)
	}
}

func TestProvisionLostAnswerDoesNotDuplicate(t *testing.T) {
	s := newStack(t)
	// Every create is carried out but its answer is lost: the client retries
	// with the same ClientToken, and then the platform redelivers.
	s.API.SetFaults(vpcsim.Faults{LostCreateRate: 1})
	s.deliverFailing("evt-lost")
	if n := len(s.API.Gateways()); n != 1 {
		t.Fatalf("%d gateways after lost answers, want 1", n)
	}
	s.API.SetFaults(vpcsim.Faults{})
	resp, err := s.provision(requestEvent("evt-lost", validData()))
	if err != nil {
		t.Fatal(err)
	}
	if gws := s.API.Gateways(); len(gws) != 1 || gws[0].ID != resp.Results[0].VpnGatewayId {
		t.Fatalf("gateways %+v, result %+v: want the one gateway", gws, resp.Results)
	}
}

func TestProvisionMalformedEnvelopeIsRecorded(t *testing.T) {
	s := newStack(t)
	for i, payload := range []string{`not json`, `{"specversion":"0.3","id":"x","source":"s","type":"t"}`} {
		resp, err := s.provision([]byte(payload))
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if len(resp.Results) != 1 || resp.Results[0].State != store.Failed || resp.Results[0].Message == "" {
			t.Fatalf("payload %d: %+v, want one failed result with a message", i, resp.Results)
		}
	}
	if n := len(s.EventsOfType(events.TypeFailed)); n != 2 {
		t.Fatalf("%d failed events, want 2", n)
	}
}

func requestKey(source, id string) string {
	return request.Identity{Source: source, EventID: id}.Key()
}
