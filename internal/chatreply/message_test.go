package chatreply

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
)

func TestRenderDeletion(t *testing.T) {
	deleted, _ := json.Marshal(map[string]any{"type": events.TypeDeleted, "data": events.Deleted{
		Request: events.RequestRef{EventID: "trig-d1"}, VpnGatewayId: "vpn-bp1x", RegionId: "cn-hangzhou"}})
	m, ok, err := render(deleted, time.Time{})
	if err != nil || !ok || !strings.Contains(m.title, "vpn-bp1x is deleted") || !strings.Contains(m.title, "trig-d1") {
		t.Fatalf("deleted: %+v %v %v", m, ok, err)
	}
	failed, _ := json.Marshal(map[string]any{"type": events.TypeFailed, "data": events.Failed{
		Request: events.RequestRef{EventID: "trig-d2"}, Stage: events.StageDeletion, Code: "DependencyViolation.VpnConnection", Message: "There are vpn connections"}})
	m, ok, err = render(failed, time.Time{})
	if err != nil || !ok || !strings.Contains(strings.Join(m.lines, "\n"), "IPsec-VPN connections first") {
		t.Fatalf("failed deletion: %+v %v %v", m, ok, err)
	}
}
