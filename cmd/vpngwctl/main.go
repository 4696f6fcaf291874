// Command vpngwctl is vpngw's operator tool: requests (list, show, redrive,
// cancel), the outbox (status, replay), policy (lint, test), tail, send,
// migrate and schema. Its commands are internal/ctl; internal/app opens the
// store, the broker and the API they use (docs/VPNGWCTL.md).
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
