package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/store"
)

// Exit statuses of every command (docs/VPNGWCTL.md).
const (
	ExitOK = 0
	// ExitFailed: the command could not do what was asked (the store or
	// broker failed, no such request, a policy case mismatched, a lint
	// problem, the schema is behind).
	ExitFailed = 1
	// ExitUsage: the command line is wrong.
	ExitUsage = 2
	// ExitRefused: the request's state does not allow the change (a
	// re-drive of a settled request, a cancel after a gateway was made).
	ExitRefused = 3
)

// Store is what the commands read and change in the store.
type Store interface {
	Get(ctx context.Context, key string) (store.Request, error)
	History(ctx context.Context, key string) ([]store.HistoryEntry, error)
	// Page returns up to limit requests whose key follows after, in key
	// order, in one of states (any state when none is given).
	Page(ctx context.Context, after string, limit int, states []store.State) ([]store.Request, error)
	OutboxStatus(ctx context.Context, sink string) (SinkStatus, error)
	ParkedFor(ctx context.Context, sink string, limit int) ([]store.Event, error)
	UnparkFor(ctx context.Context, sink string, seqs []int64) (int, error)
	// Ready refuses a schema this build cannot work on, saying what to run.
	Ready(ctx context.Context) error
	// Schema says where the schema stands, in a line, and whether it is
	// this build's; Migrate brings it there and says so.
	Schema(ctx context.Context) (string, bool, error)
	Migrate(ctx context.Context) (string, error)
	orphanLister
	String() string
	Close() error
}

// SinkStatus is one sink's delivery status.
type SinkStatus struct {
	Pending       int
	OldestPending time.Time
	Parked        int
	OldestParked  time.Time
}

// Provisioner is the provision use case, as an operator drives it; Close
// releases what was opened for it.
type Provisioner interface {
	Redrive(ctx context.Context, rec store.Request) (provision.Result, error)
	Cancel(ctx context.Context, rec store.Request, reason string) (provision.Result, error)
	Close() error
}

// Outcome is one event `tail` received.
type Outcome struct {
	ID, Type, Source, Subject string
	Time                      time.Time
	Data                      json.RawMessage
}

// Deps is what the composition root hands the commands. Only what a
// command uses is opened, when it runs.
type Deps struct {
	Stdout, Stderr io.Writer
	// OpenStore opens VPNGW_STORE_URL without migrating it.
	OpenStore func(ctx context.Context) (Store, error)
	// OpenProvisioner builds the provision use case on the store, the API
	// and the sinks, as the functions build it.
	OpenProvisioner func(ctx context.Context) (Provisioner, error)
	// Sinks names the sinks of VPNGW_QUEUE_URL as the store names them
	// (the first is store.FirstSink), with the chat replies' destination.
	Sinks func() ([]string, error)
	// Subscribe delivers the outcomes the first sink of VPNGW_QUEUE_URL
	// receives, until ctx ends or the subscription fails.
	Subscribe func(ctx context.Context, handle func(Outcome)) error
	// Send runs `vpngwctl send` with its arguments.
	Send func(ctx context.Context, args []string) int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// command is one command: its help (with examples) and how it runs.
type command struct {
	name, summary, usage string
	run                  func(ctx context.Context, c *cli, args []string) int
	sub                  []*command
}

// cli is one run of vpngwctl.
type cli struct {
	Deps
	name string // "vpngwctl requests list"
}

func (c *cli) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// fail prints err as the command's error and returns ExitFailed.
func (c *cli) fail(err error) int {
	fmt.Fprintf(c.Stderr, "%s: %v\n", c.name, err)
	return ExitFailed
}

// refuse prints why the request's state does not allow the command and
// returns ExitRefused.
func (c *cli) refuse(format string, args ...any) int {
	fmt.Fprintf(c.Stderr, "%s: %s\n", c.name, fmt.Sprintf(format, args...))
	return ExitRefused
}

// usageError prints what is wrong with the command line and the command's
// help, and returns ExitUsage.
func (c *cli) usageError(cmd *command, format string, args ...any) int {
	if format != "" {
		fmt.Fprintf(c.Stderr, "%s: %s\n\n", c.name, fmt.Sprintf(format, args...))
	}
	fmt.Fprint(c.Stderr, cmd.usage)
	return ExitUsage
}

// want is how many arguments a command takes after its flags, from min to
// max (any number when max is negative), and what to say when it is given
// another number; a %q in wrong names the first argument given.
type want struct {
	min, max int
	wrong    string
}

// anyArgs leaves the arguments to a later parse.
var anyArgs = want{max: -1}

// flags makes the command's flag set; parse parses args with it, printing
// help on -h/--help (ExitOK) and the usage on a bad flag, then checks that
// the arguments left are as w wants and, unless out is nil, the -o flag.
// ok is false when the command is to return code.
func (c *cli) parse(cmd *command, fs *flag.FlagSet, args []string, w want, out *string) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.Stdout, cmd.usage)
			return ExitOK, false
		}
		return c.usageError(cmd, "%v", err), false
	}
	if n := fs.NArg(); n < w.min || (w.max >= 0 && n > w.max) {
		if strings.Contains(w.wrong, "%q") {
			return c.usageError(cmd, w.wrong, fs.Arg(0)), false
		}
		return c.usageError(cmd, "%s", w.wrong), false
	}
	if out != nil && *out != "text" && *out != "json" {
		return c.usageError(cmd, "-o %q: want text or json", *out), false
	}
	return 0, true
}

// output is the -o flag: text (a table) or json.
func outputFlag(fs *flag.FlagSet) *string {
	return fs.String("o", "text", "output: text or json")
}

func (c *cli) json(v any) int {
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return c.fail(err)
	}
	return ExitOK
}

// table prints head and rows on standard output as aligned columns, then
// empty, unless it is "", when there are no rows.
func (c *cli) table(head []string, rows [][]any, empty string) int {
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = fmt.Sprint(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return c.fail(err)
	}
	if len(rows) == 0 && empty != "" {
		fmt.Fprintln(c.Stdout, empty)
	}
	return ExitOK
}

// listing prints items as out says: as json, each as asJSON makes it, or as
// a table under head, a row each as row makes it, and empty in place of
// the rows when there are none.
func listing[T, J any](c *cli, out string, items []T, asJSON func(T) J, head []string, row func(T) []any, empty string) int {
	if out == "json" {
		v := make([]J, len(items))
		for i, it := range items {
			v[i] = asJSON(it)
		}
		return c.json(v)
	}
	rows := make([][]any, len(items))
	for i, it := range items {
		rows[i] = row(it)
	}
	return c.table(head, rows, empty)
}

// openStore opens the store and refuses one whose schema this build cannot
// work on.
func (c *cli) openStore(ctx context.Context) (Store, error) {
	s, err := c.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Ready(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Main runs vpngwctl with args (without the program's name) and returns its
// exit status.
func Main(ctx context.Context, args []string, d Deps) int {
	root := commands()
	c := &cli{Deps: d, name: "vpngwctl"}
	cmd := root
	for len(args) > 0 && len(cmd.sub) > 0 {
		a := args[0]
		if a == "-h" || a == "--help" || a == "help" {
			fmt.Fprint(c.Stdout, cmd.usage)
			return ExitOK
		}
		next := find(cmd, a)
		if next == nil {
			return c.usageError(cmd, "unknown command %q%s", a, didYouMean(cmd, a))
		}
		cmd, args = next, args[1:]
		c.name += " " + cmd.name
	}
	if cmd.run == nil {
		return c.usageError(cmd, "")
	}
	return cmd.run(ctx, c, args)
}

func find(cmd *command, name string) *command {
	for _, s := range cmd.sub {
		if s.name == name {
			return s
		}
	}
	if name == "history" && cmd.name == "vpngwctl" {
		// history is what requests show was called first.
		return &command{name: "history", usage: showUsage, run: runShow}
	}
	return nil
}

func didYouMean(cmd *command, name string) string {
	var names []string
	for _, s := range cmd.sub {
		names = append(names, s.name)
		if strings.HasPrefix(s.name, name) || strings.HasPrefix(name, s.name) {
			return fmt.Sprintf(": did you mean %q?", s.name)
		}
	}
	sort.Strings(names)
	return " (commands: " + strings.Join(names, ", ") + ")"
}

// isTerminal reports whether w is a terminal: progress is shown only there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress counts rows on stderr, once a second, once the work has taken
// longer than a second, and only on a terminal.
type progress struct {
	w     io.Writer
	what  string
	start time.Time
	last  time.Time
	shown bool
	on    bool
}

func (c *cli) progress(what string) *progress {
	return &progress{w: c.Stderr, what: what, start: time.Now(), on: isTerminal(c.Stderr)}
}

func (p *progress) add(n int) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < time.Second || now.Sub(p.last) < time.Second {
		return
	}
	p.last, p.shown = now, true
	fmt.Fprintf(p.w, "\r%s: %d so far (%s)...", p.what, n, now.Sub(p.start).Round(time.Second))
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
