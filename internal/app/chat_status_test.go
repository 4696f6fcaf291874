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
