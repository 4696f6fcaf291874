package main

import (
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/vpcsim"
)

func TestParseConfigFlagsWinOverEnvironment(t *testing.T) {
	env := map[string]string{
		"VPCSIM_ADDR":               "0.0.0.0:9400",
		"VPCSIM_PROVISIONING_DELAY": "90s",
		"VPCSIM_THROTTLE_RATE":      "0.2",
		"VPCSIM_RATE_LIMITS":        "none",
	}
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:9301", "-latency", "20ms"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:9301" || cfg.delay != 90*time.Second || cfg.throttleRate != 0.2 ||
		cfg.latency != 20*time.Millisecond || cfg.rateLimits != "none" || cfg.site != "china" {
		t.Fatalf("config %+v", cfg)
	}
}

func TestParseConfigRejectsBadValues(t *testing.T) {
	for _, args := range [][]string{
		{"-delay", "soon"},
		{"-delay", "300s-60s"},
		{"-delay", "60s-"},
		{"-throttle-rate", "often"},
		{"-quota", "many"},
		{"-rate-limits", "CreateVpnGateway"},
		{"-rate-limits", "CreateVpnGateway=-1"},
		{"-site", "moon"},
		{"-vpc-seed", `{"VPCs":[{"VpcId":"vpc-bp1x"}]}`},
	} {
		if _, err := parseConfig(args, func(string) string { return "" }); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
}

func TestParseRateLimits(t *testing.T) {
	got, err := parseRateLimits("CreateVpnGateway=60, *=600")
	if err != nil || got["CreateVpnGateway"] != 60 || got[""] != 600 || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	doc, err := parseRateLimits("documented")
	if err != nil || doc["CreateVpnGateway"] != vpcsim.DefaultRateLimits()["CreateVpnGateway"] {
		t.Fatalf("documented: %v, %v", doc, err)
	}
}

// -vpc-seed adds to the default VPCs; a bad seed is refused naming the flag
// and the field.
func TestParseConfigVPCSeed(t *testing.T) {
	cfg, err := parseConfig([]string{"-vpc-seed", `{"VPCs":[{"VpcId":"vpc-bp1mine0001","RegionId":"cn-hangzhou"}]}`}, func(string) string { return "" })
	if err != nil || len(cfg.world.VPCs) != len(vpcsim.DefaultSeed().VPCs)+1 {
		t.Fatalf("%d VPCs, %v", len(cfg.world.VPCs), err)
	}
	cfg, err = parseConfig(nil, func(string) string { return "" })
	if err != nil || len(cfg.world.VPCs) != len(vpcsim.DefaultSeed().VPCs) {
		t.Fatalf("without -vpc-seed: %d VPCs, %v", len(cfg.world.VPCs), err)
	}
	_, err = parseConfig(nil, func(k string) string {
		if k == "VPCSIM_VPC_SEED" {
			return `{"VPCs":[{"VpcId":"vpc-bp1x"}]}`
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "-vpc-seed") || !strings.Contains(err.Error(), "VPCs[0].RegionId") {
		t.Fatalf("bad seed: %v, want -vpc-seed and VPCs[0].RegionId named", err)
	}
}

func TestParseConfigDelayRange(t *testing.T) {
	cfg, err := parseConfig([]string{"-delay", "60s-300s"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.delay != time.Minute || cfg.delayMax != 5*time.Minute {
		t.Fatalf("-delay 60s-300s: got %s to %s, want 1m0s to 5m0s", cfg.delay, cfg.delayMax)
	}
}
