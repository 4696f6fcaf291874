package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/runtime"
	"github.com/vpngw/vpngw/internal/store"
)

// CtlHistoryUsage is `vpngwctl history --help`.
const CtlHistoryUsage = `usage: vpngwctl history [-o text|json] <source> <id>

Prints a request's record and its history: every change of its state, oldest
first, with when, who made it (provision, webhook, reconcile, operator;
migration for the state a request had when its history began) and why (the
rule that allowed or denied it, the API's code). The request is named by its
event's source and id, as GET /requests/{source}/{id} names it.

examples:
  vpngwctl history acs:eventbridge:tickets TICKET-4711
  vpngwctl history -o json /webhook/ci build-42 | jq '.History[-1]'

exit status: 0 printed, 1 no such request or the store failed, 2 usage.
The store is VPNGW_STORE_URL, as for vpngwctl migrate.
`

// ctlHistory runs `vpngwctl history`.
func ctlHistory(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vpngwctl history", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("o", "text", "output: text or json")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || (*format != "text" && *format != "json") {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, CtlHistoryUsage)
			return 0
		}
		fmt.Fprint(stderr, CtlHistoryUsage)
		return 2
	}
	source, id := fs.Arg(0), fs.Arg(1)
	fail := func(err error) int {
		fmt.Fprintf(stderr, "vpngwctl history: %v\n", err)
		return 1
	}
	s, err := StoreFromEnv(ctx, getenv)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); err != nil {
		return fail(fmt.Errorf("%w: run %s", err, MigrateCommand))
	}
	key := request.IdentityOf(source, id).Key()
	rec, err := s.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stderr, "vpngwctl history: no request with source %q and id %q in %s: give the source and id of the request's event as sent\n", source, id, s)
		return 1
	}
	if err != nil {
		return fail(err)
	}
	h, err := s.History(ctx, key)
	if err != nil {
		return fail(err)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{
			"Key": rec.Key, "Source": rec.Source, "Id": rec.EventID, "State": rec.State,
			"VpnGatewayId": rec.GatewayID, "History": runtime.History(h),
		}); err != nil {
			return fail(err)
		}
		return 0
	}
	fmt.Fprintf(stdout, "request %s %s (key %s): %s", rec.Source, rec.EventID, rec.Key, rec.State)
	if rec.GatewayID != "" {
		fmt.Fprintf(stdout, ", gateway %s", rec.GatewayID)
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTATE\tACTOR\tGATEWAY\tREASON")
	for _, e := range h {
		gw := e.GatewayID
		if gw == "" {
			gw = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.State, e.Actor, gw, e.Reason)
	}
	if err := tw.Flush(); err != nil {
		return fail(err)
	}
	return 0
}
