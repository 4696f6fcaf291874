package main

import (
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
		{"-throttle-rate", "often"},
		{"-quota", "many"},
		{"-rate-limits", "CreateVpnGateway"},
		{"-rate-limits", "CreateVpnGateway=-1"},
		{"-site", "moon"},
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
