package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/policy"
)

const tailUsage = `usage: vpngwctl tail [-o text|json] [--type GLOB] [--count N]

Subscribes to the first sink of VPNGW_QUEUE_URL (NATS JetStream: an ephemeral
consumer of the stream, new messages only; AMQP: a temporary queue bound to
the exchange) and prints each outcome event as it arrives: its time, type,
request, gateway and, for a failure, the stage, code and message. It runs
until interrupted (Ctrl-C) or --count events were printed.

flags:
  --type GLOB  only events whose type matches (* matches any run): '*failed'
  --count N    stop after N events
  -o FORMAT    text (a line per event, the default) or json (each event's
               CloudEvent, one a line)

examples:
  vpngwctl tail
  vpngwctl tail --type '*.failed' -o json | jq .data.Code

` + exitHelp

func runTail(ctx context.Context, c *cli, args []string) int {
	cmd := find(commands(), "tail")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	typeF := fs.String("type", "", "event type glob")
	count := fs.Int("count", 0, "stop after N events")
	out := outputFlag(fs)
	if code, ok := c.parse(cmd, fs, args, want{wrong: "tail takes only flags"}, out); !ok {
		return code
	}
	if *count < 0 {
		return c.usageError(cmd, "--count %d: want 0 (no end) or more", *count)
	}
	typ := policy.Glob(*typeF)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	var werr error
	err := c.Subscribe(ctx, func(o Outcome) {
		if (*typeF != "" && !typ.MatchString(o.Type)) || ctx.Err() != nil {
			return
		}
		if *out == "json" {
			b, err := json.Marshal(map[string]any{"id": o.ID, "type": o.Type, "source": o.Source, "subject": o.Subject, "time": o.Time, "data": o.Data})
			if err == nil {
				_, err = fmt.Fprintf(c.Stdout, "%s\n", b)
			}
			werr = err
		} else {
			_, werr = fmt.Fprintln(c.Stdout, describe(o))
		}
		n++
		if werr != nil || (*count > 0 && n >= *count) {
			cancel()
		}
	})
	if werr != nil {
		return c.fail(werr)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return c.fail(fmt.Errorf("%w: check VPNGW_QUEUE_URL and that the broker is up", err))
	}
	return ExitOK
}

// describe is an outcome in a line.
func describe(o Outcome) string {
	var d struct {
		Request                                    struct{ Source, Id string }
		VpnGatewayId, Status, Stage, Code, Message string
		Total, Failed                              int
	}
	_ = json.Unmarshal(o.Data, &d)
	kind := strings.TrimPrefix(o.Type, "io.vpngw.")
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-22s", o.Time.UTC().Format(time.RFC3339), kind)
	if d.Request.Source != "" || d.Request.Id != "" {
		fmt.Fprintf(&b, " %s %s", d.Request.Source, d.Request.Id)
	}
	gw := d.VpnGatewayId
	if gw == "" {
		gw = o.Subject
	}
	if gw != "" {
		fmt.Fprintf(&b, " gateway %s", gw)
	}
	if d.Status != "" {
		fmt.Fprintf(&b, " (%s)", d.Status)
	}
	if d.Code != "" {
		fmt.Fprintf(&b, ": %s %s: %s", d.Stage, d.Code, clip(d.Message, 160))
	}
	return b.String()
}
