package ctl

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

const orphansUsage = `usage: vpngwctl orphans [--limit N] [-o table|json]

Lists the gateways vpngw created whose request was announced failed (Timeout,
FinancialLocked, NotFound...) and that were found to exist all the same: each
was announced io.vpngw.gateway.orphaned. STATE is its request's state: failed
while the gateway is kept (the policy's orphans: report), deleted once it was
deleted (orphans: delete, or a delete request). An orphan stays listed.

flags:
  --limit N   at most N orphans, oldest first (default 100)
  -o FORMAT   table (default) or json

examples:
  vpngwctl orphans
  vpngwctl orphans -o json

` + exitHelp + envHelp

// orphan is an orphan as -o json shows it.
type orphan struct {
	record
	OrphanedAt time.Time
}

func runOrphans(ctx context.Context, c *cli, args []string) int {
	cmd := find(commands(), "orphans")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	limit := fs.Int("limit", 100, "at most this many")
	out := outputFlag(fs)
	if code, ok := c.parse(cmd, fs, args, want{wrong: "unexpected argument %q: orphans takes only flags"}, out); !ok {
		return code
	}
	if *limit < 1 {
		return c.usageError(cmd, "--limit %d: want at least 1", *limit)
	}
	s, err := c.openStore(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	list, err := s.ListOrphans(ctx, *limit+1)
	if err != nil {
		return c.fail(err)
	}
	more := len(list) > *limit
	if more {
		list = list[:*limit]
	}
	code := listing(c, *out, list, func(o store.Orphan) orphan {
		return orphan{record: recordOf(o.Request), OrphanedAt: o.OrphanedAt}
	}, []string{"ORPHANED", "STATE", "GATEWAY", "REGION", "SOURCE", "ID", "FAILED WITH"}, func(o store.Orphan) []any {
		return []any{o.OrphanedAt.Format(time.RFC3339), o.State, o.GatewayID, o.RegionID, o.Source, o.EventID, dash(clip(o.LastError, 60))}
	}, "no orphan: every gateway vpngw created whose request failed was not found, or none failed")
	if code != ExitOK {
		return code
	}
	if more {
		fmt.Fprintf(c.Stderr, "%s: more orphans than --limit %d: raise --limit\n", c.name, *limit)
	}
	return ExitOK
}

// orphanLister is the store's list of orphans (store.Orphans).
type orphanLister interface {
	ListOrphans(ctx context.Context, limit int) ([]store.Orphan, error)
}
