// Command local runs vpngw's local stack (`make run`): the VPC API emulator,
// an embedded NATS server, a SQLite store under .vpngw/, the provision
// function behind a CloudEvents HTTP endpoint and the reconcile function on a
// ticker, all in one process, with nothing to install (package
// internal/localstack).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vpngw/vpngw/internal/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(localstack.Run(ctx, os.Environ(), os.Stdout, os.Stderr))
}
