package app

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// VPNGW_EMULATOR_SEED adds VPCs and vSwitches to the local emulator's
// default ones: a request in a VPC only the seed names becomes a gateway.
// A bad seed stops the start, naming the variable and the field.
func TestLocalEmulatorSeed(t *testing.T) {
	const seed = `{"VPCs":[{"VpcId":"vpc-bp1myown00000001","RegionId":"cn-hangzhou"}],
"VSwitches":[{"VSwitchId":"vsw-bp1myown00000001","VpcId":"vpc-bp1myown00000001","ZoneId":"cn-hangzhou-h"},
{"VSwitchId":"vsw-bp1myown00000002","VpcId":"vpc-bp1myown00000001","ZoneId":"cn-hangzhou-i"}]}`
	l, _ := startLocalEnv(t, map[string]string{"VPNGW_EMULATOR_SEED": seed})
	ev := requestEvent("seeded-1", map[string]any{"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1myown00000001",
		"VSwitchId": "vsw-bp1myown00000001", "DisasterRecoveryVSwitchId": "vsw-bp1myown00000002", "Bandwidth": 10})
	resp, err := http.Post("http://"+l.HTTPAddr+"/", "application/cloudevents+json", bytes.NewReader(ev))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(body), `"pending"`) {
		t.Fatalf("a request in the seeded VPC: %d %s, want 202 pending", resp.StatusCode, body)
	}

	_, err = FromEnv(func(k string) string {
		if k == "VPNGW_EMULATOR_SEED" {
			return `{"VPCs":[{"VpcId":"vpc-bp1myown00000001","RegionId":"cn-hangzhou"}],"VSwitches":[{"VSwitchId":"vsw-bp1x","VpcId":"vpc-bp1myown00000001"}]}`
		}
		return ""
	}, Local)
	if err == nil || !strings.Contains(err.Error(), "VPNGW_EMULATOR_SEED") || !strings.Contains(err.Error(), "VSwitches[0].ZoneId") {
		t.Fatalf("bad seed: %v, want VPNGW_EMULATOR_SEED and VSwitches[0].ZoneId named", err)
	}
}
