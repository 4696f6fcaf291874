package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

const listUsage = `usage: vpngwctl requests list [--state S[,S]] [--source GLOB] [--since AGE] [--limit N] [-o text|json]

Lists requests, newest first: when each was recorded, its state, source and
id, its gateway, its CreateVpnGateway attempts and its last error.

flags:
  --state S     only requests in these states (comma-separated): received,
                pending, active, failed, batch, batch-done, dry-run
  --source GLOB only requests whose event source matches; * matches any run of
                characters, "/" included
  --since AGE   only requests recorded within AGE (a Go duration: 90m, 24h) or
                since a time (RFC 3339)
  --limit N     at most N requests (default 100); the command says how many
                more matched
  -o FORMAT     text (a table, the default) or json (an array of records)

examples:
  vpngwctl requests list --state received,pending
  vpngwctl requests list --source 'https://tickets.example.com/*' --since 24h
  vpngwctl requests list --state failed -o json | jq -r '.[].LastError'

` + exitHelp + envHelp

const showUsage = `usage: vpngwctl requests show [-o text|json] <source> <id> | <gateway id>

Prints a request's record and its history: every change of its state, oldest
first, with when, who made it (provision, webhook, reconcile, operator;
migration for the state a request had when its history began) and why (the
rule that allowed or denied it, the API's code). The request is named by its
event's source and id, as GET /requests/{source}/{id} names it, or by the id
of the gateway it made. "vpngwctl history" is the same command.

examples:
  vpngwctl requests show acs:eventbridge:tickets TICKET-4711
  vpngwctl requests show vpn-bp1example
  vpngwctl requests show -o json /webhook/ci build-42 | jq '.History[-1]'

` + exitHelp + envHelp

const redriveUsage = `usage: vpngwctl requests redrive <source> <id>

Sends a request left received (its deliveries stopped before it was settled:
an operator fault such as rotated credentials, fixed since) to
CreateVpnGateway again, through the provision use case, as the reconcile tick
would: it is decided again under the policy in force, as its recorded
requester, and sent with its ClientToken, so it never makes a second gateway.
The history records the operator as the actor. A request in any other state is
refused (exit status 3).

It needs the functions' configuration: VPNGW_STORE_URL, VPNGW_QUEUE_URL,
VPNGW_POLICY (or VPNGW_POLICY_INLINE), VPNGW_VPC_ENDPOINT and the cloud
credentials (ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET).

examples:
  vpngwctl requests redrive acs:eventbridge:tickets TICKET-4711

` + exitHelp

const cancelUsage = `usage: vpngwctl requests cancel --reason TEXT <source> <id>

Fails a request left received for which nothing was created (no
CreateVpnGateway attempt, or only attempts the API refused for the operator's
credentials), with a failed event (Stage create, Code Cancelled, the reason)
for its requester. The history records the operator and the reason. A request
that has a gateway, or whose attempt may have made one, is refused (exit
status 3): wait for the reconcile tick to settle it. Do not cancel a request
while its re-drive runs.

It needs the same configuration as redrive.

examples:
  vpngwctl requests cancel --reason "duplicate of TICKET-4712" acs:eventbridge:tickets TICKET-4711

` + exitHelp

// pageSize is how many requests a scan reads at a time.
const pageSize = 500

// parseStates reads --state.
func parseStates(v string) ([]store.State, error) {
	if v == "" {
		return nil, nil
	}
	var out []store.State
	for _, s := range strings.Split(v, ",") {
		st := store.State(strings.TrimSpace(s))
		if !st.Valid() {
			return nil, fmt.Errorf("--state %q: not a state; want received, pending, active, failed, batch, batch-done or dry-run", s)
		}
		out = append(out, st)
	}
	return out, nil
}

// parseSince reads --since: an age or a time.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an age (a Go duration such as 90m or 24h) or a time (RFC 3339, 2026-11-25T10:00:00Z)", v)
}

// scan reads every request in one of states, a page at a time, and keeps
// those keep says to, showing progress on a terminal.
func (c *cli) scan(ctx context.Context, s Store, states []store.State, keep func(store.Request) bool) ([]store.Request, error) {
	p := c.progress("reading requests")
	defer p.done()
	var out []store.Request
	after, n := "", 0
	for {
		page, err := s.Page(ctx, after, pageSize, states)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if keep(r) {
				out = append(out, r)
			}
		}
		n += len(page)
		p.add(n)
		if len(page) < pageSize {
			return out, nil
		}
		after = page[len(page)-1].Key
	}
}

func runList(ctx context.Context, c *cli, args []string) int {
	cmd := find(find(commands(), "requests"), "list")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	stateF := fs.String("state", "", "states")
	sourceF := fs.String("source", "", "source glob")
	sinceF := fs.String("since", "", "age or time")
	limit := fs.Int("limit", 100, "at most this many")
	out := outputFlag(fs)
	if code, ok := c.parse(cmd, fs, args, want{wrong: "unexpected argument %q: list takes only flags"}, out); !ok {
		return code
	}
	states, err := parseStates(*stateF)
	if err != nil {
		return c.usageError(cmd, "%v", err)
	}
	since, err := parseSince(*sinceF, c.now())
	if err != nil {
		return c.usageError(cmd, "%v", err)
	}
	if *limit < 1 {
		return c.usageError(cmd, "--limit %d: want at least 1", *limit)
	}
	var src = policy.Glob(*sourceF)
	s, err := c.openStore(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	reqs, err := c.scan(ctx, s, states, func(r store.Request) bool {
		return (*sourceF == "" || src.MatchString(r.Source)) && !r.CreatedAt.Before(since)
	})
	if err != nil {
		return c.fail(err)
	}
	slices.SortStableFunc(reqs, func(a, b store.Request) int { return b.CreatedAt.Compare(a.CreatedAt) })
	more := 0
	if len(reqs) > *limit {
		more = len(reqs) - *limit
		reqs = reqs[:*limit]
	}
	code := listing(c, *out, reqs, recordOf, []string{"CREATED", "STATE", "SOURCE", "ID", "GATEWAY", "ATTEMPTS", "LAST ERROR"}, func(r store.Request) []any {
		return []any{r.CreatedAt.Format(time.RFC3339), r.State, r.Source, r.EventID, dash(r.GatewayID), r.Attempts, dash(clip(r.LastError, 60))}
	}, "no request matches")
	if code != ExitOK {
		return code
	}
	if more > 0 {
		fmt.Fprintf(c.Stderr, "%s: %d more requests match: narrow with --state, --source or --since, or raise --limit\n", c.name, more)
	}
	return ExitOK
}

// record is a request as -o json shows it.
type record struct {
	Key, Source, Id, Subject string
	State                    store.State
	VpnGatewayId             string `json:",omitempty"`
	RegionId, VpcId          string
	ClientToken              string
	Attempts                 int
	LastError                string `json:",omitempty"`
	Caller                   string `json:",omitempty"`
	ChatUser                 string `json:",omitempty"`
	CreatedAt, UpdatedAt     time.Time
}

func recordOf(r store.Request) record {
	return record{Key: r.Key, Source: r.Source, Id: r.EventID, Subject: r.Subject, State: r.State, VpnGatewayId: r.GatewayID,
		RegionId: r.RegionID, VpcId: r.VpcID, ClientToken: r.ClientToken, Attempts: r.Attempts, LastError: r.LastError,
		Caller: r.Caller, ChatUser: r.ChatUser, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// errNoRequest says a request was not found, and how to name one.
type errNoRequest struct{ what, where string }

func (e errNoRequest) Error() string {
	return fmt.Sprintf("no request %s in %s: give the source and id of the request's event as sent, or the id of its gateway (vpngwctl requests list shows both)", e.what, e.where)
}

// requestArgs are the arguments that name one request.
var requestArgs = want{1, 2, "name the request: <source> <id>, or <gateway id>"}

// withRequest opens the store, finds the request args name and hands both
// to use; the store is closed when use returns.
func (c *cli) withRequest(ctx context.Context, args []string, use func(s Store, rec store.Request) int) int {
	s, err := c.openStore(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	rec, err := c.lookup(ctx, s, args)
	if err != nil {
		return c.fail(err)
	}
	return use(s, rec)
}

// lookup finds the request args name: <source> <id>, or <gateway id>.
func (c *cli) lookup(ctx context.Context, s Store, args []string) (store.Request, error) {
	if len(args) == 2 {
		rec, err := s.Get(ctx, request.IdentityOf(args[0], args[1]).Key())
		if errors.Is(err, store.ErrNotFound) {
			return rec, errNoRequest{fmt.Sprintf("with source %q and id %q", args[0], args[1]), s.String()}
		}
		return rec, err
	}
	gw := args[0]
	found, err := c.scan(ctx, s, nil, func(r store.Request) bool { return r.GatewayID == gw })
	if err != nil {
		return store.Request{}, err
	}
	if len(found) == 0 {
		return store.Request{}, errNoRequest{fmt.Sprintf("made gateway %q", gw), s.String()}
	}
	return found[0], nil
}

func runShow(ctx context.Context, c *cli, args []string) int {
	cmd := &command{name: "show", usage: showUsage}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	out := outputFlag(fs)
	if code, ok := c.parse(cmd, fs, args, requestArgs, out); !ok {
		return code
	}
	return c.withRequest(ctx, fs.Args(), func(s Store, rec store.Request) int {
		return c.show(ctx, s, rec, *out)
	})
}

// show prints rec and its history, as out says: text or json.
func (c *cli) show(ctx context.Context, s Store, rec store.Request, out string) int {
	h, err := s.History(ctx, rec.Key)
	if err != nil {
		return c.fail(err)
	}
	if out == "json" {
		type entry struct {
			At           time.Time
			State        store.State
			Actor        store.Actor
			Reason       string `json:",omitempty"`
			VpnGatewayId string `json:",omitempty"`
		}
		v := struct {
			record
			History []entry
		}{record: recordOf(rec)}
		for _, e := range h {
			v.History = append(v.History, entry{e.At, e.State, e.Actor, e.Reason, e.GatewayID})
		}
		return c.json(v)
	}
	fmt.Fprintf(c.Stdout, "request %s %s (key %s): %s", rec.Source, rec.EventID, rec.Key, rec.State)
	if rec.GatewayID != "" {
		fmt.Fprintf(c.Stdout, ", gateway %s", rec.GatewayID)
	}
	fmt.Fprintf(c.Stdout, "\nregion %s, VPC %s, ClientToken %s, %d attempts, recorded %s\n", dash(rec.RegionID), dash(rec.VpcID), rec.ClientToken, rec.Attempts, rec.CreatedAt.Format(time.RFC3339))
	if rec.LastError != "" {
		fmt.Fprintf(c.Stdout, "last error: %s\n", rec.LastError)
	}
	rows := make([][]any, len(h))
	for i, e := range h {
		rows[i] = []any{e.At.Format(time.RFC3339), e.State, e.Actor, dash(e.GatewayID), e.Reason}
	}
	return c.table([]string{"TIME", "STATE", "ACTOR", "GATEWAY", "REASON"}, rows, "")
}

// change runs redrive or cancel: parse, find the request, check its state,
// and act through the provision use case as the operator.
func (c *cli) change(ctx context.Context, cmd *command, fs *flag.FlagSet, args []string,
	act func(ctx context.Context, p Provisioner, s Store, rec store.Request) int) int {
	if code, ok := c.parse(cmd, fs, args, requestArgs, nil); !ok {
		return code
	}
	return c.withRequest(ctx, fs.Args(), func(s Store, rec store.Request) int {
		return c.changeRequest(ctx, cmd, s, rec, act)
	})
}

// changeRequest acts on rec, found in s for the command cmd, if its state
// allows.
func (c *cli) changeRequest(ctx context.Context, cmd *command, s Store, rec store.Request,
	act func(ctx context.Context, p Provisioner, s Store, rec store.Request) int) int {
	if rec.State != store.Received {
		gw := ""
		if rec.GatewayID != "" {
			gw = " with gateway " + rec.GatewayID
		}
		return c.refuse("request %s %s is %s%s: only a request left received can be %s (vpngwctl requests show %s %s has its history)",
			rec.Source, rec.EventID, rec.State, gw, map[string]string{"redrive": "re-driven", "cancel": "cancelled"}[cmd.name], quoteArg(rec.Source), quoteArg(rec.EventID))
	}
	p, err := c.OpenProvisioner(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer p.Close()
	return act(store.WithActor(ctx, store.ActorOperator), p, s, rec)
}

func quoteArg(s string) string {
	if strings.ContainsAny(s, " '\"$*?;&|<>()") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

func (c *cli) printResult(res provision.Result) {
	fmt.Fprintf(c.Stdout, "request %s %s: %s", res.Source, res.EventID, res.State)
	if res.VpnGatewayId != "" {
		fmt.Fprintf(c.Stdout, ", gateway %s", res.VpnGatewayId)
	}
	if res.Code != "" {
		fmt.Fprintf(c.Stdout, " (%s)", res.Code)
	}
	fmt.Fprintln(c.Stdout)
}

func runRedrive(ctx context.Context, c *cli, args []string) int {
	cmd := find(find(commands(), "requests"), "redrive")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	return c.change(ctx, cmd, fs, args, func(ctx context.Context, p Provisioner, _ Store, rec store.Request) int {
		res, err := p.Redrive(ctx, rec)
		if err != nil {
			fmt.Fprintf(c.Stderr, "%s: still received, kept for a retry: %v\nfix what it says, then run the command again (the same ClientToken is sent: no second gateway is made)\n", c.name, err)
			return ExitFailed
		}
		c.printResult(res)
		return ExitOK
	})
}

func runCancel(ctx context.Context, c *cli, args []string) int {
	cmd := find(find(commands(), "requests"), "cancel")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	reason := fs.String("reason", "", "why the request is cancelled (required; its requester reads it)")
	if code, ok := c.parse(cmd, fs, args, anyArgs, nil); !ok {
		return code
	}
	if strings.TrimSpace(*reason) == "" {
		return c.usageError(cmd, "--reason is required: say why, the requester reads it in the failed event and the history keeps it")
	}
	return c.change(ctx, cmd, fs, fs.Args(), func(ctx context.Context, p Provisioner, s Store, rec store.Request) int {
		h, err := s.History(ctx, rec.Key)
		if err != nil {
			return c.fail(err)
		}
		if why := mayHaveCreated(rec, h); why != "" {
			return c.refuse("request %s %s cannot be cancelled: %s; the reconcile tick settles it (vpngwctl requests redrive sends it again with its ClientToken)", rec.Source, rec.EventID, why)
		}
		res, err := p.Cancel(ctx, rec, *reason)
		if errors.Is(err, store.ErrConflict) {
			return c.refuse("request %s %s changed while it was being cancelled: run vpngwctl requests show to see its state", rec.Source, rec.EventID)
		}
		if err != nil {
			return c.fail(err)
		}
		c.printResult(res)
		return ExitOK
	})
}

// mayHaveCreated says why a gateway may exist for a received request: a
// CreateVpnGateway attempt whose failure was not a refusal of the
// operator's credentials (a timeout, a server error: the API may have
// created it). "" when nothing can have been created.
func mayHaveCreated(rec store.Request, h []store.HistoryEntry) string {
	if rec.GatewayID != "" {
		return "it has gateway " + rec.GatewayID
	}
	if rec.Attempts == 0 {
		return ""
	}
	for i, e := range h {
		if i == 0 || e.State != store.Received {
			continue
		}
		if !strings.Contains(e.Reason, provision.CredentialsRefused) {
			return fmt.Sprintf("a CreateVpnGateway attempt failed in a way that may have made a gateway (%s)", clip(e.Reason, 120))
		}
	}
	if !strings.Contains(rec.LastError, provision.CredentialsRefused) {
		return fmt.Sprintf("its last CreateVpnGateway attempt failed in a way that may have made a gateway (%s)", clip(rec.LastError, 120))
	}
	return ""
}
