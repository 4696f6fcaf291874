package ctl

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

const statusUsage = `usage: vpngwctl outbox status [-o text|json]

Prints, for every sink of VPNGW_QUEUE_URL ("first" is the first, the others by
their destination) and for the chat replies: how many events wait to be
published (pending) and how old the oldest is, and how many are parked (set
aside because the sink refused them for good) and since when.

examples:
  vpngwctl outbox status
  vpngwctl outbox status -o json | jq '.[] | select(.Parked > 0)'

` + exitHelp + envHelp

const replayUsage = `usage: vpngwctl outbox replay [--limit N] <sink>

Returns the sink's parked events to its outbox, in their order, for the next
drain (a provision invocation or the reconcile tick) to publish: run it once
what made the sink refuse them is fixed (a stream or queue bound since, a
larger message limit). Only that sink gets them again. <sink> is a name
vpngwctl outbox status prints ("first" for the first sink).

examples:
  vpngwctl outbox replay first
  vpngwctl outbox replay https://receiver.example.com/hook

` + exitHelp + envHelp

// firstSink is how the commands name store.FirstSink.
const firstSink = "first"

func sinkName(s string) string {
	if s == store.FirstSink {
		return firstSink
	}
	return s
}

func runOutboxStatus(ctx context.Context, c *cli, args []string) int {
	cmd := find(find(commands(), "outbox"), "status")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	out := outputFlag(fs)
	if code, ok := c.parse(cmd, fs, args, want{wrong: "status takes no arguments"}, out); !ok {
		return code
	}
	sinks, err := c.Sinks()
	if err != nil {
		return c.fail(err)
	}
	s, err := c.openStore(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	type row struct {
		Sink          string
		Pending       int
		OldestPending *time.Time `json:",omitempty"`
		Parked        int
		OldestParked  *time.Time `json:",omitempty"`
	}
	var rows []row
	for _, name := range sinks {
		st, err := s.OutboxStatus(ctx, name)
		if err != nil {
			return c.fail(err)
		}
		r := row{Sink: sinkName(name), Pending: st.Pending, Parked: st.Parked}
		if !st.OldestPending.IsZero() {
			r.OldestPending = &st.OldestPending
		}
		if !st.OldestParked.IsZero() {
			r.OldestParked = &st.OldestParked
		}
		rows = append(rows, r)
	}
	if *out == "json" {
		return c.json(rows)
	}
	now := c.now()
	age := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return now.Sub(*t).Round(time.Second).String()
	}
	table := make([][]any, len(rows))
	for i, r := range rows {
		table[i] = []any{r.Sink, r.Pending, age(r.OldestPending), r.Parked, age(r.OldestParked)}
	}
	return c.table([]string{"SINK", "PENDING", "OLDEST PENDING", "PARKED", "PARKED FOR"}, table, "")
}

func runOutboxReplay(ctx context.Context, c *cli, args []string) int {
	cmd := find(find(commands(), "outbox"), "replay")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	limit := fs.Int("limit", 0, "replay at most N events (all when 0)")
	if code, ok := c.parse(cmd, fs, args, want{1, 1, "name one sink, as vpngwctl outbox status prints it"}, nil); !ok {
		return code
	}
	sinks, err := c.Sinks()
	if err != nil {
		return c.fail(err)
	}
	want := fs.Arg(0)
	name := want
	if want == firstSink {
		name = store.FirstSink
	}
	if !slices.Contains(sinks, name) {
		var names []string
		for _, s := range sinks {
			names = append(names, sinkName(s))
		}
		return c.usageError(cmd, "no sink %q in VPNGW_QUEUE_URL: want one of %s", want, strings.Join(names, ", "))
	}
	s, err := c.openStore(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	p := c.progress("replaying parked events")
	defer p.done()
	total := 0
	for *limit == 0 || total < *limit {
		n := pageSize
		if *limit > 0 {
			n = min(n, *limit-total)
		}
		parked, err := s.ParkedFor(ctx, name, n)
		if err != nil {
			return c.fail(err)
		}
		if len(parked) == 0 {
			break
		}
		seqs := make([]int64, len(parked))
		for i, e := range parked {
			seqs[i] = e.Seq
		}
		got, err := s.UnparkFor(ctx, name, seqs)
		if err != nil {
			return c.fail(fmt.Errorf("%d events replayed, then: %w", total, err))
		}
		total += got
		p.add(total)
		if got == 0 {
			break
		}
	}
	fmt.Fprintf(c.Stdout, "%d parked events of sink %s returned to its outbox: the next drain publishes them in order\n", total, want)
	return ExitOK
}
