// Command local runs vpngw's local stack (`make run`): the VPC API emulator,
// an embedded NATS server, a SQLite store under .vpngw/, the provision
// function behind a CloudEvents HTTP endpoint and the reconcile function on a
// ticker, all in one process, with nothing to install.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vpngw/vpngw/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(app.RunLocal(ctx, os.Environ(), os.Stdout, os.Stderr))
}
