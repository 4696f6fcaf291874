// Command vpcsim runs the VPC API emulator as a standalone HTTP server for the
// local stack and for manual testing:
//
//	go run ./internal/vpcsim/cmd/vpcsim -addr 127.0.0.1:9300
//
// Point an SDK request at it with Domain = the printed address and Scheme =
// "http", signed with vpcsim.DefaultAccessKeyID / DefaultAccessKeySecret. Every
// flag can also be set from the environment variable named in its help; a
// flag given on the command line wins. -vpc-seed adds VPCs and vSwitches to
// the default ones (docs/EMULATOR.md lists both and the seed's format). The admin interface under /_admin/
// (see the vpcsim package documentation) changes faults while it runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vpngw/vpngw/internal/vpcsim"
)

type config struct {
	addr            string
	delay           time.Duration
	delayMax        time.Duration // above delay: drawn from [delay, delayMax]
	deleteDelay     time.Duration
	quota           int
	rateLimits      string
	throttleRate    float64
	serverErrorRate float64
	lostCreateRate  float64
	latency         time.Duration
	seed            uint64
	// world is what -vpc-seed makes of the default VPCs and vSwitches.
	world     vpcsim.Seed
	vpcSeed   string
	site      string
	logFormat string
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vpcsim:", err)
		os.Exit(2)
	}
	log := newLogger(cfg.logFormat)
	if err := run(cfg, log); err != nil {
		log.Error("vpcsim stopped", "err", err)
		os.Exit(1)
	}
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("vpcsim", flag.ContinueOnError)
	str := func(p *string, name, env, def, help string) {
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, help+" (env "+env+")")
	}
	str(&cfg.addr, "addr", "VPCSIM_ADDR", "127.0.0.1:9300", "listen address")
	var delay, deleteDelay, quota, rateLimits, throttle, serverErr, lost, latency, seed string
	str(&delay, "delay", "VPCSIM_PROVISIONING_DELAY", vpcsim.DefaultProvisioningDelay.String(), "time a new gateway stays init: a duration, or MIN-MAX (e.g. 60s-300s) for a time drawn uniformly from that range")
	str(&deleteDelay, "delete-delay", "VPCSIM_DELETION_DELAY", "0s", "time a deleted gateway stays deleting")
	str(&quota, "quota", "VPCSIM_QUOTA", "0", "gateways allowed per region, 0 for no limit")
	str(&rateLimits, "rate-limits", "VPCSIM_RATE_LIMITS", "documented",
		`per-region calls a minute: "documented", "none" or Action=N,Action=N ("*=N" for every action)`)
	str(&throttle, "throttle-rate", "VPCSIM_THROTTLE_RATE", "0", "share of calls answered Throttling.User")
	str(&serverErr, "server-error-rate", "VPCSIM_SERVER_ERROR_RATE", "0", "share of calls answered 500/503")
	str(&lost, "lost-create-rate", "VPCSIM_LOST_CREATE_RATE", "0", "share of CreateVpnGateway calls carried out but left unanswered")
	str(&latency, "latency", "VPCSIM_LATENCY", "0s", "delay added to every answer")
	str(&seed, "seed", "VPCSIM_SEED", "0", "random seed for IDs and faults, 0 for a random one")
	str(&cfg.vpcSeed, "vpc-seed", "VPCSIM_VPC_SEED", "", "VPCs and vSwitches to add to the default ones: a seed file's path, or its JSON inline (starting with {); docs/EMULATOR.md")
	str(&cfg.site, "site", "VPCSIM_SITE", "china", `account site, "china" or "international" (decides valid bandwidths)`)
	str(&cfg.logFormat, "log-format", "VPCSIM_LOG_FORMAT", "text", `"text" or "json"`)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}

	var err error
	parse := func(name string, f func() error) {
		if err == nil {
			if e := f(); e != nil {
				err = fmt.Errorf("-%s: %w", name, e)
			}
		}
	}
	parse("delay", func() (e error) { cfg.delay, cfg.delayMax, e = parseDelay(delay); return })
	parse("delete-delay", func() (e error) { cfg.deleteDelay, e = time.ParseDuration(deleteDelay); return })
	parse("latency", func() (e error) { cfg.latency, e = time.ParseDuration(latency); return })
	parse("quota", func() (e error) { cfg.quota, e = strconv.Atoi(quota); return })
	parse("throttle-rate", func() (e error) { cfg.throttleRate, e = strconv.ParseFloat(throttle, 64); return })
	parse("server-error-rate", func() (e error) { cfg.serverErrorRate, e = strconv.ParseFloat(serverErr, 64); return })
	parse("lost-create-rate", func() (e error) { cfg.lostCreateRate, e = strconv.ParseFloat(lost, 64); return })
	parse("seed", func() (e error) { cfg.seed, e = strconv.ParseUint(seed, 10, 64); return })
	parse("rate-limits", func() error { _, e := parseRateLimits(rateLimits); return e })
	parse("vpc-seed", func() (e error) { cfg.world, e = vpcsim.LoadSeed(cfg.vpcSeed); return })
	cfg.rateLimits = rateLimits
	if err == nil && cfg.site != "china" && cfg.site != "international" {
		err = fmt.Errorf("-site: %q is neither china nor international", cfg.site)
	}
	return cfg, err
}

// parseDelay reads the -delay flag: a duration, or MIN-MAX.
func parseDelay(s string) (min, max time.Duration, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if min, err = time.ParseDuration(lo); err != nil || min < 0 {
		return 0, 0, fmt.Errorf("%q: want a duration such as 5s, or MIN-MAX such as 60s-300s", s)
	}
	if !isRange {
		return min, 0, nil
	}
	if max, err = time.ParseDuration(hi); err != nil || max < min {
		return 0, 0, fmt.Errorf("%q: want MIN-MAX with MIN <= MAX, such as 60s-300s", s)
	}
	return min, max, nil
}

// parseRateLimits reads the -rate-limits flag.
func parseRateLimits(s string) (map[string]int, error) {
	switch s {
	case "documented":
		return vpcsim.DefaultRateLimits(), nil
	case "none", "":
		return map[string]int{}, nil
	}
	out := map[string]int{}
	for item := range strings.SplitSeq(s, ",") {
		action, n, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, fmt.Errorf("%q is not Action=N", item)
		}
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q: the limit must be a whole number, 0 or more", item)
		}
		if action == "*" {
			action = ""
		}
		out[action] = v
	}
	return out, nil
}

func newLogger(format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

func run(cfg config, log *slog.Logger) error {
	limits, err := parseRateLimits(cfg.rateLimits)
	if err != nil {
		return err
	}
	faults := vpcsim.Faults{
		ThrottleRate:    cfg.throttleRate,
		ServerErrorRate: cfg.serverErrorRate,
		LostCreateRate:  cfg.lostCreateRate,
		Latency:         cfg.latency,
	}
	opts := []vpcsim.Option{
		vpcsim.WithProvisioningDelayRange(cfg.delay, cfg.delayMax),
		vpcsim.WithDeletionDelay(cfg.deleteDelay),
		vpcsim.WithGatewayQuota(cfg.quota),
		vpcsim.WithRateLimits(limits),
		vpcsim.WithLogger(log),
		vpcsim.WithSeed(cfg.world),
	}
	if cfg.seed != 0 {
		opts = append(opts, vpcsim.WithRandSeed(cfg.seed))
	}
	if cfg.site == "international" {
		opts = append(opts, vpcsim.WithSite(vpcsim.SiteInternational))
	}
	sim := vpcsim.New(opts...)
	if err := sim.SetFaults(faults); err != nil {
		return err
	}

	addr, shutdown, err := sim.Start(cfg.addr)
	if err != nil {
		return err
	}
	log.Info("vpcsim listening",
		"addr", addr,
		"api", "http://"+addr+"/",
		"admin", "http://"+addr+"/_admin/gateways",
		"access_key_id", vpcsim.DefaultAccessKeyID,
		"provisioning_delay", cfg.delay, "provisioning_delay_max", cfg.delayMax,
		"rate_limits", cfg.rateLimits,
		"vpcs", len(cfg.world.VPCs), "vswitches", len(cfg.world.VSwitches),
		"faults", faults)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("vpcsim shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
