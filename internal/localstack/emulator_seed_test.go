package localstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/logging"
)

// VPNGW_EMULATOR_SEED adds VPCs and vSwitches to the local emulator's
// default ones: a request in a VPC only the seed names becomes a gateway.
// A bad seed stops the start, naming the variable and the field, before
// anything listens.
func TestLocalEmulatorSeed(t *testing.T) {
	const seed = `{"VPCs":[{"VpcId":"vpc-bp1myown00000001","RegionId":"cn-hangzhou"}],
"VSwitches":[{"VSwitchId":"vsw-bp1myown00000001","VpcId":"vpc-bp1myown00000001","ZoneId":"cn-hangzhou-h"},
{"VSwitchId":"vsw-bp1myown00000002","VpcId":"vpc-bp1myown00000001","ZoneId":"cn-hangzhou-i"}]}`
	l, _ := startLocalEnv(t, map[string]string{"VPNGW_EMULATOR_SEED": seed})
	ev, err := json.Marshal(map[string]any{"specversion": "1.0", "id": "seeded-1", "source": "/vpngw/demo", "type": events.TypeRequested,
		"datacontenttype": "application/json", "data": map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1myown00000001",
			"VSwitchId": "vsw-bp1myown00000001", "DisasterRecoveryVSwitchId": "vsw-bp1myown00000002", "Bandwidth": 10}})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := postEvent(t, l, ev); code != http.StatusAccepted || !strings.Contains(body, `"pending"`) {
		t.Fatalf("a request in the seeded VPC: %d %s, want 202 pending", code, body)
	}

	cfg := localConfig(t, map[string]string{"VPNGW_EMULATOR_SEED": `{"VPCs":[{"VpcId":"vpc-bp1myown00000001","RegionId":"cn-hangzhou"}],"VSwitches":[{"VSwitchId":"vsw-bp1x","VpcId":"vpc-bp1myown00000001"}]}`})
	_, err = Start(context.Background(), cfg, logging.New(io.Discard, "text", nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "VPNGW_EMULATOR_SEED") || !strings.Contains(err.Error(), "VSwitches[0].ZoneId") {
		t.Fatalf("bad seed: %v, want VPNGW_EMULATOR_SEED and VSwitches[0].ZoneId named", err)
	}
}
