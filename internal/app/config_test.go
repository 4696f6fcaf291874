package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// functionEnv is a complete, valid function configuration.
func functionEnv(extra map[string]string) func(string) string {
	env := map[string]string{
		"VPNGW_STORE_URL":     "postgres://vpngw@db.internal:5432/vpngw?sslmode=verify-full",
		"VPNGW_QUEUE_URL":     "tls://mq.internal:4222",
		"VPNGW_POLICY_INLINE": LocalPolicy,
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// Every bad value is refused at start-up by an error that names its variable
// and says what it takes.
func TestFromEnvNamesTheVariable(t *testing.T) {
	if _, err := FromEnv(functionEnv(nil), Function); err != nil {
		t.Fatalf("valid configuration refused: %v", err)
	}
	for _, tc := range []struct {
		name, value, want string
	}{
		{"VPNGW_API_RATE_SCOPE", "cluster", "want auto, shared or instance"},
		{"VPNGW_API_RATES", "CreateVpnGateway=fast", "VPNGW_API_RATES"},
		{"VPNGW_API_RATES", "ModifyVpnGatewayAttribute=1/s", "CreateVpnGateway, DescribeVpnGateways, DeleteVpnGateway"},
		{"VPNGW_CONCURRENCY", "0", "VPNGW_CONCURRENCY"},
		{"VPNGW_PROVISION_TIMEOUT", "soon", "VPNGW_PROVISION_TIMEOUT"},
		{"VPNGW_LOG_FORMAT", "xml", "want json or text"},
		{"VPNGW_LOG_LEVEL", "loud", "want debug, info, warn or error"},
		{"VPNGW_STORE_URL", "", "VPNGW_STORE_URL is not set"},
		{"VPNGW_QUEUE_URL", "", "VPNGW_QUEUE_URL is not set"},
		{"VPNGW_POLICY_INLINE", "", "neither VPNGW_POLICY nor VPNGW_POLICY_INLINE"},
		{"VPNGW_WEBHOOK_SECRET", "short", "at least 16"},
		// The previous secret signs requests as well as the current one: it
		// is held to the same length.
		{"VPNGW_WEBHOOK_SECRET_PREVIOUS", "short", "at least 16"},
		{"VPNGW_WEBHOOK_MAX_SKEW", "2h", "at most 1h0m0s"},
		// ParseFloat reads all of these; none is a rate.
		{"VPNGW_API_RATES", "CreateVpnGateway=NaN/m", "finite"},
		{"VPNGW_API_RATES", "CreateVpnGateway=nan", "finite"},
		{"VPNGW_API_RATES", "DescribeVpnGateways=Inf/s", "finite"},
		{"VPNGW_API_RATES", "DescribeVpnGateways=+Infinity/m", "finite"},
		{"VPNGW_API_RATES", "CreateVpnGateway=-1/m", "0 (no limit) or more"},
		{"VPNGW_API_RATES", "CreateVpnGateway=-0.5", "0 (no limit) or more"},
		// So few calls that the gap between two would overflow.
		{"VPNGW_API_RATES", "CreateVpnGateway=1e-300/s", "at least 1/h"},
		{"VPNGW_API_RATES", "CreateVpnGateway=0.01/m", "at least 1/h"},
		{"VPNGW_API_RATES", "CreateVpnGateway=1e400/s", "finite"},
	} {
		env := map[string]string{tc.name: tc.value}
		if strings.HasPrefix(tc.name, "VPNGW_WEBHOOK_SECRET") {
			env["VPNGW_WEBHOOK_SECRET_SOURCES"] = "*"
		}
		if tc.name == "VPNGW_WEBHOOK_SECRET_PREVIOUS" {
			env["VPNGW_WEBHOOK_SECRET"] = "a-current-secret-long-enough"
		}
		_, err := FromEnv(functionEnv(env), Function)
		if err == nil {
			t.Errorf("%s=%q accepted", tc.name, tc.value)
			continue
		}
		if !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: error %q does not name the variable and %q", tc.name, tc.value, err, tc.want)
		}
	}
}

// Rates that mean something are read as calls per second; 0 turns the
// client-side limit off.
func TestParseRates(t *testing.T) {
	for in, want := range map[string]map[string]float64{
		"CreateVpnGateway=60/m,DescribeVpnGateways=5/s": {"CreateVpnGateway": 1, "DescribeVpnGateways": 5},
		"CreateVpnGateway=0,DescribeVpnGateways=0":      {"CreateVpnGateway": 0, "DescribeVpnGateways": 0},
		"CreateVpnGateway=1/m":                          {"CreateVpnGateway": 1.0 / 60, "DescribeVpnGateways": vpcclient.DefaultRates["DescribeVpnGateways"]},
	} {
		got, err := parseRates(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", in, k, got[k], v)
			}
		}
	}
}

// VPNGW_API_RATE_SCOPE picks the limiter: auto shares the rates through a
// store that every instance reaches, and keeps them per instance on SQLite.
func TestRateLimiterScope(t *testing.T) {
	ctx := context.Background()
	sqlite, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		scope, kind string
		shared      bool
	}{
		{"auto", "sqlite", false},
		{"instance", "sqlite", false},
		{"shared", "sqlite", true},
		{"auto", "postgres", true},
		{"instance", "postgres", false},
	} {
		l, err := pickLimiter(tc.scope, tc.kind, sqlite, nil, log)
		if err != nil {
			t.Fatalf("%s: %v", tc.scope, err)
		}
		if _, shared := l.(vpcclient.SharedLimiter); shared != tc.shared {
			t.Errorf("scope %s on %s: limiter %T, want shared %t", tc.scope, tc.kind, l, tc.shared)
		}
	}
	// The store New opens says its kind itself.
	l, err := rateLimiter(Config{APIRateScope: "auto"}, sqlite, log)
	if _, shared := l.(vpcclient.SharedLimiter); err != nil || shared {
		t.Errorf("auto on the SQLite store: %T, %v; want this instance's own limiter", l, err)
	}
}

// VPNGW_EMULATOR_DELAY takes one duration, or a range each gateway's time
// is drawn from.
func TestEmulatorDelayTakesARange(t *testing.T) {
	for value, want := range map[string][2]time.Duration{
		"20s":      {20 * time.Second, 0},
		"60s-300s": {time.Minute, 5 * time.Minute},
		"1m-1m":    {time.Minute, time.Minute},
	} {
		c, err := FromEnv(func(k string) string {
			if k == "VPNGW_EMULATOR_DELAY" {
				return value
			}
			return ""
		}, Local)
		if err != nil {
			t.Errorf("VPNGW_EMULATOR_DELAY=%s: %v", value, err)
			continue
		}
		if c.EmulatorDelay != want[0] || c.EmulatorDelayMax != want[1] {
			t.Errorf("VPNGW_EMULATOR_DELAY=%s: %s to %s, want %s to %s", value, c.EmulatorDelay, c.EmulatorDelayMax, want[0], want[1])
		}
	}
	for value, want := range map[string]string{
		"soon":     "MIN-MAX such as 60s-300s",
		"300s-60s": "MIN no more than MAX",
		"60s-":     "MIN no more than MAX",
	} {
		_, err := FromEnv(func(k string) string {
			if k == "VPNGW_EMULATOR_DELAY" {
				return value
			}
			return ""
		}, Local)
		if err == nil || !strings.Contains(err.Error(), "VPNGW_EMULATOR_DELAY") || !strings.Contains(err.Error(), want) {
			t.Errorf("VPNGW_EMULATOR_DELAY=%s: error %v, want one naming the variable and %q", value, err, want)
		}
	}
}
