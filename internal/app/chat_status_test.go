package app_test

import (
	"strings"
	"testing"
)

// status lists the caller's requests from the workspace, newest first, with
// state and gateway; status <gateway id> or <request id> shows one; a user
// who made none here sees none.
func TestChatStatus(t *testing.T) {
	s := newChatStack(t)
	first := gatewayID.FindString(s.slackCommand("trigger-status-1", chatCreate))
	second := gatewayID.FindString(s.slackCommand("trigger-status-2", strings.Replace(chatCreate, "chat-gateway", "chat-gateway-2", 1)))
	if first == "" || second == "" || first == second {
		t.Fatalf("two creates gave gateways %q and %q", first, second)
	}
	list := s.slackCommand("trigger-status-3", "status")
	i, j := strings.Index(list, second), strings.Index(list, first)
	if !strings.Contains(list, "last 2 requests") || i < 0 || j < 0 || i > j || !strings.Contains(list, "trigger-status-1") {
		t.Fatalf("status: %q, want both requests, the newer first", list)
	}
	one := s.slackCommand("trigger-status-4", "status "+first)
	if !strings.Contains(one, "Request trigger-status-1: ") || !strings.Contains(one, "VPN gateway: "+first) || strings.Contains(one, second) {
		t.Fatalf("status %s: %q", first, one)
	}
	if byID := s.slackCommand("trigger-status-5", "status trigger-status-2"); !strings.Contains(byID, "VPN gateway: "+second) {
		t.Fatalf("status trigger-status-2: %q", byID)
	}
	// One request's status shows its history: each change, who made it, why.
	if !strings.Contains(one, "History:") || !strings.Contains(one, " received  webhook ") || !strings.Contains(one, " pending  webhook ") {
		t.Fatalf("status %s shows no history of received and pending by webhook: %q", first, one)
	}
	if other := s.dingTalkMessage("msg-status-1", "status"); !strings.Contains(other, "no requests here") {
		t.Fatalf("status of a user with no requests: %q", other)
	}
	if help := s.slackCommand("trigger-status-6", "help"); !strings.Contains(help, "status [") {
		t.Fatalf("help does not list status: %q", help)
	}
}

// A DingTalk staff id and a sender id are two namespaces: a sender outside
// the organisation whose senderId is spelled as a staff member's staff id
// sees none of that member's requests, and the member none of theirs.
func TestChatStatusKeepsDingTalkStaffAndSendersApart(t *testing.T) {
	s := newChatStack(t)
	gw := gatewayID.FindString(s.dingTalkMessage("msg-ns-1", chatCreate))
	if gw == "" {
		t.Fatal("the staff member's create made no gateway")
	}
	if own := s.dingTalkMessage("msg-ns-2", "status"); !strings.Contains(own, gw) {
		t.Fatalf("the staff member's status: %q, want %s", own, gw)
	}
	outsider := map[string]any{"senderId": "staff-chat-1"}
	if other := s.dingTalkFrom(outsider, "msg-ns-3", "status"); strings.Contains(other, gw) || !strings.Contains(other, "no requests here") {
		t.Fatalf("status of a sender whose id is the staff member's staff id: %q, want none of the member's requests", other)
	}
	theirs := gatewayID.FindString(s.dingTalkFrom(outsider, "msg-ns-4", strings.Replace(chatCreate, "chat-gateway", "outsider-gateway", 1)))
	if theirs == "" {
		t.Fatal("the outsider's create made no gateway")
	}
	if own := s.dingTalkMessage("msg-ns-5", "status"); strings.Contains(own, theirs) {
		t.Fatalf("the staff member's status shows the outsider's gateway: %q", own)
	}
}
