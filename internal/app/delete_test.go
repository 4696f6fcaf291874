package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// deleteEvent is a delete request as EventBridge delivers it, from the
// source that sent the create requests (requestEvent).
func deleteEvent(id string, data any) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "acs:eventbridge:tickets", "type": events.TypeDeleteRequested,
		"datacontenttype": "application/json", "aliyuneventbusname": "vpngw",
		"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"data":        data,
	})
	return b
}

// createdGateway sends a create request for validData under id and
// returns the id of the gateway vpngw created for it.
func (s *stack) createdGateway(id string) string {
	s.t.Helper()
	resp, err := s.provision(requestEvent(id, validData()))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].VpnGatewayId == "" {
		s.t.Fatalf("create %s: %+v %v", id, resp, err)
	}
	return resp.Results[0].VpnGatewayId
}

// activeGateway creates a gateway through vpngw and ticks until it is
// active; it returns its id.
func (s *stack) activeGateway(id string) string {
	s.t.Helper()
	gw := s.createdGateway(id)
	s.Clock.Advance(3 * time.Minute)
	if rep := s.tick(); rep.Active != 1 {
		s.t.Fatalf("tick: %+v, want the gateway active", rep)
	}
	return gw
}

func (s *stack) deleteOne(payload []byte) provision.Result {
	s.t.Helper()
	resp, err := s.provision(payload)
	if len(resp.Results) != 1 {
		s.t.Fatalf("delete: %+v %v", resp, err)
	}
	return resp.Results[0]
}

// The whole life of a gateway: created, announced active, deleted on
// request (by its create request, or by its id), gone from the API, and
// announced deleted; the create request's record says so too. A
// redelivery of the delete request deletes nothing twice.
func TestDeleteAGatewayVpngwCreated(t *testing.T) {
	for _, tc := range []struct {
		name string
		data func(gw string) any
	}{
		{"by create request", func(string) any {
			return map[string]any{"Request": map[string]any{"Source": "acs:eventbridge:tickets", "Id": "life-1"}}
		}},
		{"by gateway id", func(gw string) any { return map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			gw := s.activeGateway("life-1")
			del := deleteEvent("del-1", tc.data(gw))
			res := s.deleteOne(del)
			if res.State != store.Pending || res.VpnGatewayId != gw {
				t.Fatalf("delete answered %+v, want pending for %s", res, gw)
			}
			if g, err := s.API.Gateway(gw); err != nil || g.Status != vpcsim.StatusDeleting {
				t.Fatalf("emulator: %+v %v, want deleting", g, err)
			}
			// Redelivered while the gateway is being deleted: answered
			// from the record, no second call.
			if again := s.deleteOne(del); again.State != store.Pending {
				t.Fatalf("redelivery answered %+v", again)
			}
			if n := s.API.Calls("DeleteVpnGateway"); n != 1 {
				t.Fatalf("DeleteVpnGateway called %d times, want 1", n)
			}
			if rep := s.tick(); rep.Deleted != 0 {
				t.Fatalf("deleted before the gateway is gone: %+v", rep)
			}
			s.Clock.Advance(31 * time.Second)
			if rep := s.tick(); rep.Deleted != 1 {
				t.Fatalf("tick after the deletion delay: %+v, want 1 deleted", rep)
			}
			if _, err := s.API.Gateway(gw); err == nil {
				t.Fatal("the emulator still holds the gateway")
			}
			d := onlyEvent[events.Deleted](t, s, events.TypeDeleted)
			if d.VpnGatewayId != gw || d.RegionId != "cn-hangzhou" || d.Request.EventID != "del-1" ||
				d.Created == nil || d.Created.EventID != "life-1" {
				t.Fatalf("deleted event %+v", d)
			}
			if ev := s.EventsOfType(events.TypeDeleted); ev[0].Subject != gw {
				t.Errorf("deleted event subject %q, want %s", ev[0].Subject, gw)
			}
			ctx := context.Background()
			created, err := s.App.Store.CreatedGateway(ctx, gw)
			if err != nil || created.State != store.Deleted {
				t.Fatalf("create request after the deletion: %+v %v", created.State, err)
			}
			h, err := s.App.Store.History(ctx, created.Key)
			if err != nil || h[len(h)-1].Actor != store.ActorReconcile || !strings.Contains(h[len(h)-1].Reason, "del-1") {
				t.Fatalf("create request history %+v %v", h, err)
			}
			// The delete request's history: recorded by provision under the
			// rule, accepted, deleted by reconcile.
			dres := s.deleteOne(del)
			if dres.State != store.Deleted {
				t.Fatalf("delete request now %+v", dres)
			}
			dh, err := s.App.Store.History(ctx, dres.Key)
			if err != nil || len(dh) != 3 || dh[0].Actor != store.ActorProvision || !strings.Contains(dh[0].Reason, "local-allow-all") ||
				dh[1].State != store.Pending || dh[2].State != store.Deleted || dh[2].Actor != store.ActorReconcile {
				t.Fatalf("delete request history %+v %v", dh, err)
			}
		})
	}
}

// A gateway vpngw has no record of creating is not deleted, and one whose
// tags do not say vpngw created it is not deleted either: the requester is
// told why, with Stage deletion.
func TestDeleteRefusesWhatVpngwDidNotCreate(t *testing.T) {
	s := newStack(t)
	t.Run("no record", func(t *testing.T) {
		ours := s.activeGateway("rec-1")
		// Forget the record's gateway: a gateway the store knows nothing of.
		res := s.deleteOne(deleteEvent("del-norecord", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": "vpn-bp1notvpngw0000000001"}))
		if res.State != store.Failed || res.Code != events.CodeNotCreatedByVpngw || !strings.Contains(res.Message, "vpngw deletes only gateways it created") {
			t.Fatalf("answer %+v", res)
		}
		res = s.deleteOne(deleteEvent("del-noreq", map[string]any{"Request": map[string]any{"Source": "acs:eventbridge:tickets", "Id": "never-sent"}}))
		if res.State != store.Failed || res.Code != events.CodeNotCreatedByVpngw {
			t.Fatalf("answer %+v", res)
		}
		if _, err := s.API.Gateway(ours); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tags", func(t *testing.T) {
		gw := s.activeGateway("tag-1")
		if err := s.API.SetTags(gw, []vpcsim.Tag{{Key: "team", Value: "net"}}); err != nil {
			t.Fatal(err)
		}
		res := s.deleteOne(deleteEvent("del-tags", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw}))
		if res.State != store.Failed || res.Code != events.CodeNotCreatedByVpngw || !strings.Contains(res.Message, "vpngw:source") {
			t.Fatalf("answer %+v", res)
		}
		g, err := s.API.Gateway(gw)
		if err != nil || g.Status != vpcsim.StatusActive || s.API.Calls("DeleteVpnGateway") != 0 {
			t.Fatalf("gateway %+v %v after a refused delete, %d delete calls", g, err, s.API.Calls("DeleteVpnGateway"))
		}
	})
	var stages []string
	for _, e := range s.EventsOfType(events.TypeFailed) {
		var f events.Failed
		_ = json.Unmarshal(e.Data, &f)
		stages = append(stages, f.Stage+"/"+f.Code)
	}
	if strings.Join(stages, ",") != "deletion/NotCreatedByVpngw,deletion/NotCreatedByVpngw,deletion/NotCreatedByVpngw" {
		t.Fatalf("failed events %v", stages)
	}
}

// The API's refusals reach the requester: failed with Stage deletion and
// the API's code, and the gateway stays.
func TestDeleteRefusedByTheAPI(t *testing.T) {
	s := newStack(t)
	gw := s.activeGateway("api-1")
	if err := s.API.SetIpsecConnections(gw, 1); err != nil {
		t.Fatal(err)
	}
	res := s.deleteOne(deleteEvent("del-api", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw}))
	if res.State != store.Failed || res.Code != "DependencyViolation.VpnConnection" {
		t.Fatalf("answer %+v", res)
	}
	f := onlyEvent[events.Failed](t, s, events.TypeFailed)
	if f.Stage != events.StageDeletion || f.Code != "DependencyViolation.VpnConnection" || f.VpnGatewayId != gw || f.RequestId == "" {
		t.Fatalf("failed event %+v", f)
	}
	if g, err := s.API.Gateway(gw); err != nil || g.Status != vpcsim.StatusActive {
		t.Fatalf("gateway %+v %v", g, err)
	}
}

// The policy decides: a rule without delete in its actions denies, and
// deleteOwnOnly keeps a source to what it created.
func TestDeleteDeniedByThePolicy(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": `version: 1
rules:
  - name: tickets
    match: {source: "acs:eventbridge:tickets"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 100
    chargeTypes: [POSTPAY]
  - name: cleanup
    match: {source: "/ops/cleanup"}
    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 100
    chargeTypes: [POSTPAY]
    actions: [delete]
`}))
	gw := s.activeGateway("pol-1")
	res := s.deleteOne(deleteEvent("del-pol", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw}))
	if res.State != store.Failed || res.Code != events.CodePolicyDenied || !strings.Contains(res.Message, "actions:") {
		t.Fatalf("answer %+v", res)
	}
	other := bytes.Replace(deleteEvent("del-pol-2", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw}),
		[]byte(`"acs:eventbridge:tickets"`), []byte(`"/ops/cleanup"`), 1)
	res = s.deleteOne(other)
	if res.State != store.Failed || res.Code != events.CodePolicyDenied || !strings.Contains(res.Message, "deleteOwnOnly") {
		t.Fatalf("answer %+v", res)
	}
	if s.API.Calls("DeleteVpnGateway") != 0 {
		t.Fatal("a denied delete reached the API")
	}
}

// Every arrival shape takes a delete request: an EventBridge array, and the
// HTTP intake in binary and structured mode.
func TestDeleteArrivesEveryWay(t *testing.T) {
	s := newStack(t)
	var gws []string
	for _, id := range []string{"way-1", "way-2", "way-3"} {
		gws = append(gws, s.activeGateway(id))
	}
	// An EventBridge event-streaming delivery: an array.
	arr := "[" + string(deleteEvent("del-way-1", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gws[0]})) + "]"
	if res := s.deleteOne([]byte(arr)); res.State != store.Pending {
		t.Fatalf("array: %+v", res)
	}
	srv := httptest.NewServer(s.App.HTTPHandler())
	defer srv.Close()
	post := func(ct string, body []byte, hdr map[string]string) int {
		resp, _ := postHTTP(t, srv.URL+"/", ct, body, hdr)
		return resp.StatusCode
	}
	data, _ := json.Marshal(map[string]any{"Request": map[string]any{"Source": "acs:eventbridge:tickets", "Id": "way-2"}})
	if code := post("application/json", data, map[string]string{
		"ce-specversion": "1.0", "ce-id": "del-way-2", "ce-source": "acs:eventbridge:tickets", "ce-type": events.TypeDeleteRequested,
	}); code != http.StatusAccepted {
		t.Fatalf("binary: %d", code)
	}
	if code := post("application/cloudevents+json", deleteEvent("del-way-3", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gws[2]}), nil); code != http.StatusAccepted {
		t.Fatalf("structured: %d", code)
	}
	if code := post("application/cloudevents+json", deleteEvent("del-way-bad", map[string]any{"VpnGatewayId": gws[2], "Extra": 1}), nil); code != http.StatusBadRequest {
		t.Fatalf("invalid: %d, want 400", code)
	}
	s.Clock.Advance(31 * time.Second)
	if rep := s.tick(); rep.Deleted != 3 {
		t.Fatalf("tick: %+v, want 3 deleted", rep)
	}
	if n := len(s.API.Gateways()); n != 0 {
		t.Fatalf("%d gateways left", n)
	}
}

// A delete inside a batch is refused, naming the item; the creates beside
// it are made.
func TestBatchRefusesADeleteItem(t *testing.T) {
	s := newStack(t)
	batch := requestEventOfType("batch-del", events.TypeBatchRequested, map[string]any{"Requests": []any{
		validData(),
		map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": "vpn-bp1x"},
	}})
	resp, _ := s.provision(batch)
	var refused *provision.Result
	for i, r := range resp.Results {
		if r.State == store.Failed {
			refused = &resp.Results[i]
		}
	}
	if refused == nil || len(refused.Errors) != 1 || refused.Errors[0].Field != "Requests[1]" || !strings.Contains(refused.Errors[0].Message, "creates only") {
		t.Fatalf("results %+v", resp.Results)
	}
	if n := len(s.API.Gateways()); n != 1 {
		t.Fatalf("%d gateways, want the create item's", n)
	}
}

// A chat user deletes what they created with delete <gateway id>, on Slack
// and on DingTalk; help lists the command; a rule without delete refuses.
func TestChatDelete(t *testing.T) {
	withDelete := strings.ReplaceAll(chatPolicy, "    chargeTypes: [POSTPAY, PREPAY]\n", "    chargeTypes: [POSTPAY, PREPAY]\n    actions: [create, delete]\n")
	for _, route := range []struct {
		name string
		send func(s *stack, id, text string) string
	}{
		{"slack", func(s *stack, id, text string) string { return s.slackCommand("trigger-"+id, text) }},
		{"dingtalk", func(s *stack, id, text string) string { return s.dingTalkMessage("msg-"+id, text) }},
	} {
		t.Run(route.name, func(t *testing.T) {
			s := newStack(t, apptest.WithEnv(map[string]string{
				"VPNGW_SLACK_SIGNING_SECRET": chatSlackSecret,
				"VPNGW_DINGTALK_APP_SECRET":  chatDingTalkSecret,
				"VPNGW_POLICY_INLINE":        withDelete,
			}))
			if help := route.send(s, "help", "help"); !strings.Contains(strings.ReplaceAll(strings.ReplaceAll(help, "&lt;", "<"), "&gt;", ">"), "delete <gateway id>") {
				t.Fatalf("help does not list delete: %s", help)
			}
			gw := gatewayID.FindString(route.send(s, "c1", chatCreate))
			s.Clock.Advance(3 * time.Minute)
			s.tick()
			answer := route.send(s, "d1", "delete "+gw)
			if !strings.Contains(answer, "is being deleted") || !strings.Contains(answer, gw) {
				t.Fatalf("delete answered %q", answer)
			}
			s.Clock.Advance(31 * time.Second)
			if rep := s.tick(); rep.Deleted != 1 {
				t.Fatalf("tick %+v", rep)
			}
			if len(s.API.Gateways()) != 0 {
				t.Fatal("the emulator still holds the gateway")
			}
			if answer := route.send(s, "d2", "delete vpn-bp1notvpngw00000001"); !strings.Contains(answer, "NotCreatedByVpngw") {
				t.Fatalf("delete of a gateway vpngw did not create answered %q", answer)
			}
		})
	}
	s := newChatStack(t) // chatPolicy allows creating only
	gw := gatewayID.FindString(s.slackCommand("trigger-c2", chatCreate))
	if answer := s.slackCommand("trigger-d3", "delete "+gw); !strings.Contains(answer, "PolicyDenied") || !strings.Contains(answer, "actions") {
		t.Fatalf("delete under a create-only rule answered %q", answer)
	}
}

// The webhook's signed POST / and an Amazon EventBridge event (Lambda) take
// a delete request as they take a create.
func TestDeleteThroughWebhookAndLambda(t *testing.T) {
	s := newStack(t, apptest.WithEnv(webhookEnv(app.LocalPolicy)))
	code, resp := s.postWebhook(requestEvent("hook-1", validData()))
	if code != http.StatusAccepted || len(resp.Results) != 1 {
		t.Fatalf("create: %d %+v", code, resp)
	}
	gw := resp.Results[0].VpnGatewayId
	created, err := s.provision(requestEvent("aws-1", validData()))
	if err != nil {
		t.Fatal(err)
	}
	aws := created.Results[0].VpnGatewayId
	s.Clock.Advance(3 * time.Minute)
	if rep := s.tick(); rep.Active != 2 {
		t.Fatalf("tick %+v, want 2 active", rep)
	}
	code, resp = s.postWebhook(deleteEvent("hook-del-1", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw}))
	if code != http.StatusAccepted || len(resp.Results) != 1 || resp.Results[0].State != store.Pending {
		t.Fatalf("webhook delete: %d %+v", code, resp)
	}
	lambda, _ := json.Marshal(map[string]any{
		"version": "0", "id": "aws-del-1", "detail-type": events.TypeDeleteRequested, "source": "acs:eventbridge:tickets",
		"account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": "eu-west-1", "resources": []string{},
		"detail": map[string]any{"Request": map[string]any{"Source": "acs:eventbridge:tickets", "Id": "aws-1"}},
	})
	if res := s.deleteOne(lambda); res.State != store.Pending || res.VpnGatewayId != aws {
		t.Fatalf("lambda delete: %+v", res)
	}
	s.Clock.Advance(31 * time.Second)
	if rep := s.tick(); rep.Deleted != 2 {
		t.Fatalf("tick %+v, want 2 deleted", rep)
	}
}

// Concurrent deliveries of one delete request, and a re-drive after the
// API failed for now, delete the gateway once: every call carries the
// request's token, and one deleted event is announced.
func TestDeleteRedeliveryDeletesOnce(t *testing.T) {
	s := newStack(t)
	gw := s.activeGateway("once-1")
	del := deleteEvent("del-once", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw})
	// The API fails for now: the request stays received, to be delivered
	// again.
	if err := s.API.SetFaults(vpcsim.Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	if res := s.deleteOne(del); res.State != store.Received || !res.Retry {
		t.Fatalf("with the API down: %+v", res)
	}
	if err := s.API.SetFaults(vpcsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan provision.Result, 4)
	for range 4 {
		go func() {
			resp, _ := s.provision(del)
			if len(resp.Results) == 1 {
				done <- resp.Results[0]
				return
			}
			done <- provision.Result{}
		}()
	}
	for range 4 {
		if r := <-done; r.State != store.Pending {
			t.Fatalf("a redelivery answered %+v", r)
		}
	}
	s.Clock.Advance(31 * time.Second)
	if rep := s.tick(); rep.Deleted != 1 {
		t.Fatalf("tick %+v", rep)
	}
	onlyEvent[events.Deleted](t, s, events.TypeDeleted)
	if len(s.API.Gateways()) != 0 {
		t.Fatal("gateway left")
	}
}

// A delete sent while its gateway is still being created is refused by the
// API for now (VpnGateway.Configuring): the request stays received and a
// redelivery once the gateway is active deletes it.
func TestDeleteWhileConfiguringIsRetried(t *testing.T) {
	s := newStack(t)
	gw := s.createdGateway("young-1")
	del := deleteEvent("del-young", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw})
	if res := s.deleteOne(del); res.State != store.Received || !res.Retry || !strings.Contains(res.Message, "VpnGateway.Configuring") {
		t.Fatalf("delete of a gateway being created: %+v", res)
	}
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	if res := s.deleteOne(del); res.State != store.Pending {
		t.Fatalf("redelivery once active: %+v", res)
	}
	s.Clock.Advance(31 * time.Second)
	if rep := s.tick(); rep.Deleted != 1 {
		t.Fatalf("tick %+v", rep)
	}
}

// deleteOwnOnly keeps a chat user to the gateways they asked for: every
// user of a Slack team (or a DingTalk conversation) shares its source, so
// the source alone does not tell one requester from another.
func TestChatDeleteOwnOnlyIsPerUser(t *testing.T) {
	withDelete := strings.ReplaceAll(chatPolicy, "    chargeTypes: [POSTPAY, PREPAY]\n", "    chargeTypes: [POSTPAY, PREPAY]\n    actions: [create, delete]\n")
	s := newStack(t, apptest.WithEnv(map[string]string{
		"VPNGW_SLACK_SIGNING_SECRET": chatSlackSecret,
		"VPNGW_DINGTALK_APP_SECRET":  chatDingTalkSecret,
		"VPNGW_POLICY_INLINE":        withDelete,
	}))
	slackGw := gatewayID.FindString(s.slackAs("U0CHATUSER1", "trigger-own-c1", chatCreate))
	dingGw := gatewayID.FindString(s.dingTalkFrom(map[string]any{"senderStaffId": "staff-chat-1"}, "msg-own-c1", chatCreate))
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	if answer := s.slackAs("U0CHATUSER2", "trigger-own-d1", "delete "+slackGw); !strings.Contains(answer, "PolicyDenied") || !strings.Contains(answer, "deleteOwnOnly") {
		t.Fatalf("another Slack user's delete answered %q", answer)
	}
	if answer := s.dingTalkFrom(map[string]any{"senderStaffId": "staff-chat-2"}, "msg-own-d1", "delete "+dingGw); !strings.Contains(answer, "PolicyDenied") || !strings.Contains(answer, "deleteOwnOnly") {
		t.Fatalf("another DingTalk user's delete answered %q", answer)
	}
	if n := len(s.API.Gateways()); n != 2 {
		t.Fatalf("%d gateways left, want both", n)
	}
	if answer := s.slackAs("U0CHATUSER1", "trigger-own-d2", "delete "+slackGw); !strings.Contains(answer, "is being deleted") {
		t.Fatalf("the creator's own delete answered %q", answer)
	}
}

// A delete request left received is decided again, as its recorded
// requester, under the policy in force when it is redelivered or re-driven,
// as a create is: once the operator takes delete out of the rule's actions,
// neither the redelivery nor the tick deletes the gateway.
func TestDeleteLeftReceivedIsDecidedAgain(t *testing.T) {
	allowing := strings.Replace(redrivePolicy, "    chargeTypes: [POSTPAY]\n", "    chargeTypes: [POSTPAY]\n    actions: [create, delete]\n", 1)
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": allowing}))
	gw1, gw2 := s.activeGateway("revoked-1"), s.activeGateway("revoked-2")
	if err := s.API.SetFaults(vpcsim.Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	del1 := deleteEvent("del-revoked-1", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw1})
	del2 := deleteEvent("del-revoked-2", map[string]any{"RegionId": "cn-hangzhou", "VpnGatewayId": gw2})
	for _, del := range [][]byte{del1, del2} {
		if res := s.deleteOne(del); res.State != store.Received || !res.Retry {
			t.Fatalf("with the API down: %+v", res)
		}
	}
	if err := s.API.SetFaults(vpcsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	changed := s.withPolicy(redrivePolicy) // delete no longer allowed
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := changed.ProvisionHandler()(ctx, del1)
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(app.ProvisionResponse).Results[0]; r.State != store.Failed || r.Code != events.CodePolicyDenied {
		t.Fatalf("redelivery under the new policy: %+v, want failed PolicyDenied", r)
	}
	// The re-drive the tick and vpngwctl requests redrive make.
	left, err := s.App.Store.Get(ctx, requestKey("acs:eventbridge:tickets", "del-revoked-2"))
	if err != nil || left.State != store.Received {
		t.Fatalf("left: %+v %v", left, err)
	}
	if r, err := changed.Provision.Redrive(ctx, left); err != nil || r.State != store.Failed || r.Code != events.CodePolicyDenied {
		t.Fatalf("re-drive under the new policy: %+v %v, want failed PolicyDenied", r, err)
	}
	got, err := s.App.Store.Get(ctx, left.Key)
	if err != nil || got.State != store.Failed || !strings.HasPrefix(got.LastError, events.CodePolicyDenied+": ") {
		t.Fatalf("re-driven delete under the new policy: %+v %v, want failed PolicyDenied", got, err)
	}
	if n := s.API.Calls("DeleteVpnGateway"); n != 0 {
		t.Fatalf("%d DeleteVpnGateway calls after the operator took delete away", n)
	}
}

// A requester the policy does not let delete a gateway learns nothing of it
// from the refusal: not the region vpngw created it in, nor what became of
// a create request it names. It is denied by the policy, as it would be for
// a gateway it may see.
func TestDeniedDeleteTellsNothingOfTheGateway(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": redrivePolicy})) // creates only
	gw := s.activeGateway("hidden-1")
	res := s.deleteOne(deleteEvent("del-hidden-1", map[string]any{"RegionId": "cn-beijing", "VpnGatewayId": gw}))
	if res.Code != events.CodePolicyDenied || strings.Contains(res.Message, "cn-hangzhou") {
		t.Fatalf("delete in another region by a requester that may not delete: %+v", res)
	}
	res = s.deleteOne(deleteEvent("del-hidden-2", map[string]any{"Request": map[string]any{"Source": "acs:eventbridge:tickets", "Id": "hidden-1"}}))
	if res.Code != events.CodePolicyDenied {
		t.Fatalf("delete by request by a requester that may not delete: %+v", res)
	}
	failed := s.deleteOne(requestEvent("hidden-2", map[string]any{"RegionId": "cn-beijing", "VpcId": "vpc-bp1vpngwdemo0000001", "Bandwidth": 5}))
	if failed.State != store.Failed {
		t.Fatalf("create outside the rule's regions: %+v", failed)
	}
	res = s.deleteOne(deleteEvent("del-hidden-3", map[string]any{"Request": map[string]any{"Source": "acs:eventbridge:tickets", "Id": "hidden-2"}}))
	if res.Code != events.CodePolicyDenied || strings.Contains(res.Message, "failed") {
		t.Fatalf("delete naming a failed request by a requester that may not delete: %+v", res)
	}
}

// A requester the policy lets delete nothing is denied before vpngw looks
// for what it names: its answer is the same whether the gateway or the
// create request exists or not.
func TestDeleteByARequesterThatMayNotDeleteIsDeniedFirst(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": redrivePolicy})) // creates only
	for i, data := range []map[string]any{
		{"RegionId": "cn-hangzhou", "VpnGatewayId": "vpn-bp1nosuchgateway0001"},
		{"Request": map[string]any{"Source": "/elsewhere", "Id": "no-such-request"}},
	} {
		if res := s.deleteOne(deleteEvent(fmt.Sprint("del-none-", i), data)); res.Code != events.CodePolicyDenied {
			t.Errorf("delete of %v by a requester that may not delete: %+v, want PolicyDenied", data, res)
		}
	}
}
