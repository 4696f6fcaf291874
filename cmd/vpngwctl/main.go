// Command vpngwctl runs vpngw's deploy steps: `vpngwctl migrate` brings the
// store's schema up to this build's with a DDL-capable user, so that the
// functions can run with a user that only reads and writes rows
// (VPNGW_MIGRATE=off); `vpngwctl schema` says where the schema stands;
// `vpngwctl history <source> <id>` prints a request's history;
// `vpngwctl send` signs and posts a request to a webhook route
// (docs/VPNGWCTL.md).
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/vpngw/vpngw/internal/app"
	_ "github.com/vpngw/vpngw/internal/store/sqlstore/sqlite" // vpngwctl opens local sqlite:// stores too
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := app.Ctl(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
