package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vpngw/vpngw/internal/ctlsend"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// CtlUsage is vpngwctl's help text.
const CtlUsage = `usage: vpngwctl <command>

commands:
  migrate   apply the store's pending schema migrations (a deploy step, run
            with a user that may create and alter tables)
  schema    print the store's schema version and the version this build needs;
            exit status 1 when the store is behind
  history   print a request's record and every change of its state, with
            who made it and why: vpngwctl history --help
  send      sign a request as a webhook route verifies it (webhook, slack,
            dingtalk) and post it: vpngwctl send --help, docs/VPNGWCTL.md

The store is VPNGW_STORE_URL. VPNGW_CA_FILE and VPNGW_ALLOW_INSECURE_TRANSPORT
apply as in the functions: without verified TLS the store is refused.
`

// Ctl runs one vpngwctl command and returns the process's exit status:
// 0 done, 1 failed, 2 usage.
func Ctl(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "send" {
		return ctlsend.Main(ctx, args[1:], getenv, os.Stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "history" {
		return ctlHistory(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) != 1 || (args[0] != "migrate" && args[0] != "schema") {
		fmt.Fprint(stderr, CtlUsage)
		return 2
	}
	s, err := StoreFromEnv(ctx, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "vpngwctl %s: %v\n", args[0], err)
		return 1
	}
	defer s.Close()
	want, name, err := s.ExpectedSchemaVersion()
	if err != nil {
		fmt.Fprintf(stderr, "vpngwctl %s: %v\n", args[0], err)
		return 1
	}
	switch args[0] {
	case "migrate":
		if err := s.Migrate(ctx); err != nil {
			fmt.Fprintf(stderr, "vpngwctl migrate: %v\n", err)
			return 1
		}
		if err := s.CheckSchema(ctx); err != nil {
			fmt.Fprintf(stderr, "vpngwctl migrate: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: schema at version %d (%s)\n", s, want, name)
		return 0
	default:
		err := s.CheckSchema(ctx)
		var se *sqlstore.SchemaError
		switch {
		case errors.As(err, &se) && se.Found >= se.Expected:
			fmt.Fprintf(stdout, "%v: run %s\n", se, MigrateCommand)
			return 1
		case errors.As(err, &se):
			fmt.Fprintf(stdout, "%s: schema at version %d, this build needs %d (%s): run %s\n", s, se.Found, se.Expected, se.Latest, MigrateCommand)
			return 1
		case err != nil:
			fmt.Fprintf(stderr, "vpngwctl schema: %v\n", err)
			return 1
		}
		found, err := s.SchemaVersion(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "vpngwctl schema: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: schema at version %d, this build needs %d (%s): up to date\n", s, found, want, name)
		return 0
	}
}
