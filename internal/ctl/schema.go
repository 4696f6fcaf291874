package ctl

import (
	"context"
	"flag"
	"fmt"
	"github.com/vpngw/vpngw/internal/ctlsend"
)

const migrateUsage = `usage: vpngwctl migrate

Applies the store's pending schema migrations: a deploy step, run with a user
that may create and alter tables, so that the functions can run with one that
only reads and writes rows (VPNGW_MIGRATE=off).

examples:
  VPNGW_STORE_URL=postgres://owner@db:5432/vpngw?sslmode=verify-full vpngwctl migrate

exit status: 0 migrated (or already up to date); 1 failed; 2 usage.
` + envHelp

const schemaUsage = `usage: vpngwctl schema

Prints the store's schema version and the version this build needs.

examples:
  vpngwctl schema

exit status: 0 up to date; 1 the store is behind (run vpngwctl migrate) or
failed; 2 usage.
` + envHelp

func runMigrate(ctx context.Context, c *cli, args []string) int {
	return c.schemaCommand(ctx, "migrate", args, func(s Store) (string, bool, error) {
		line, err := s.Migrate(ctx)
		return line, true, err
	})
}

func runSchema(ctx context.Context, c *cli, args []string) int {
	return c.schemaCommand(ctx, "schema", args, func(s Store) (string, bool, error) {
		return s.Schema(ctx)
	})
}

// schemaCommand runs migrate or schema: it takes no arguments, opens the
// store whatever its schema, prints the line do answers and fails when
// the schema is not current.
func (c *cli) schemaCommand(ctx context.Context, name string, args []string, do func(Store) (line string, current bool, err error)) int {
	cmd := find(commands(), name)
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	if code, ok := c.parse(cmd, fs, args, want{wrong: cmd.name + " takes no arguments"}, nil); !ok {
		return code
	}
	s, err := c.OpenStore(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	line, current, err := do(s)
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintln(c.Stdout, line)
	if !current {
		return ExitFailed
	}
	return ExitOK
}

// sendExamples complete ctlsend.Usage for vpngwctl send --help.
const sendExamples = `
examples:
  vpngwctl send --route webhook --file events/testdata/io.vpngw.gateway.requested.json
  vpngwctl send --route slack --text "create region=cn-hangzhou vpc=vpc-bp1example bandwidth=10"
  vpngwctl send --route webhook --url https://hooks.example.com --file - < request.json

exit status: 0 the route answered 2xx; 1 it answered otherwise or could not be
reached; 2 usage.
`

func runSend(ctx context.Context, c *cli, args []string) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(c.Stdout, ctlsend.Usage+sendExamples)
		return ExitOK
	}
	return c.Send(ctx, args)
}
