package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/vpngw/vpngw/internal/chatreply"
	"github.com/vpngw/vpngw/internal/ctl"
	"github.com/vpngw/vpngw/internal/ctlsend"
	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// Ctl runs one vpngwctl command (internal/ctl) on the adapters this package
// opens, and returns the process's exit status (ctl.Exit*).
func Ctl(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return ctl.Main(ctx, args, CtlDeps(getenv, os.Stdin, stdout, stderr))
}

// CtlDeps wires vpngwctl's ports: each opens what it needs from the
// variables when a command asks for it.
func CtlDeps(getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) ctl.Deps {
	return ctl.Deps{
		Stdout: stdout, Stderr: stderr,
		OpenStore: func(ctx context.Context) (ctl.Store, error) {
			s, err := StoreFromEnv(ctx, getenv)
			if err != nil {
				return nil, err
			}
			return ctlStore{s}, nil
		},
		OpenProvisioner: func(ctx context.Context) (ctl.Provisioner, error) {
			c, err := FromEnv(getenv, Function)
			if err != nil {
				return nil, fmt.Errorf("a re-drive or a cancel runs the provision use case as the functions do, with their configuration: %w", err)
			}
			a, err := New(ctx, c, logging.New(stderr, "text", slog.LevelWarn))
			if err != nil {
				return nil, err
			}
			return ctlProvisioner{a}, nil
		},
		Sinks: func() ([]string, error) {
			raw := queue.SplitSinks(getenv("VPNGW_QUEUE_URL"))
			if len(raw) == 0 {
				return nil, errors.New("VPNGW_QUEUE_URL is not set: name the sinks, as for the functions")
			}
			names := []string{store.FirstSink}
			for _, r := range raw[1:] {
				names = append(names, queue.SinkName(r))
			}
			return append(names, chatreply.SinkName), nil
		},
		Subscribe: func(ctx context.Context, handle func(ctl.Outcome)) error {
			var c Config
			if err := errors.Join(readVars(getenv, Function, &c, "VPNGW_CA_FILE")...); err != nil {
				return err
			}
			raw := queue.SplitSinks(getenv("VPNGW_QUEUE_URL"))
			if len(raw) == 0 {
				return errors.New("VPNGW_QUEUE_URL is not set: name the sink to follow")
			}
			return queue.Subscribe(ctx, queueURLWithCA(raw[0], c.CAFile), func(e queue.Received) {
				handle(ctl.Outcome{ID: e.ID, Type: e.Type, Source: e.Source, Subject: e.Subject, Time: e.Time, Data: e.Data})
			})
		},
		Send: func(ctx context.Context, args []string) int {
			return ctlsend.Main(ctx, args, getenv, stdin, stdout, stderr)
		},
	}
}

// ctlStore adapts the store to vpngwctl's port.
type ctlStore struct{ *sqlstore.Store }

var (
	_ ctl.Store       = ctlStore{}
	_ ctl.Provisioner = ctlProvisioner{}
)

func (s ctlStore) Page(ctx context.Context, after string, limit int, states []store.State) ([]store.Request, error) {
	return s.List(ctx, sqlstore.ListFilter{States: states, AfterKey: after, Limit: limit})
}

func (s ctlStore) OutboxStatus(ctx context.Context, sink string) (ctl.SinkStatus, error) {
	st, err := s.Store.OutboxStatus(ctx, sink)
	return ctl.SinkStatus(st), err
}

func (s ctlStore) Ready(ctx context.Context) error {
	if err := s.CheckSchema(ctx); err != nil {
		return fmt.Errorf("%w: run %s", err, MigrateCommand)
	}
	return nil
}

func (s ctlStore) Migrate(ctx context.Context) (string, error) {
	want, name, err := s.ExpectedSchemaVersion()
	if err != nil {
		return "", err
	}
	if err := s.Store.Migrate(ctx); err != nil {
		return "", err
	}
	if err := s.CheckSchema(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: schema at version %d (%s)", s, want, name), nil
}

func (s ctlStore) Schema(ctx context.Context) (string, bool, error) {
	want, name, err := s.ExpectedSchemaVersion()
	if err != nil {
		return "", false, err
	}
	err = s.CheckSchema(ctx)
	var se *sqlstore.SchemaError
	switch {
	case errors.As(err, &se) && se.Found >= se.Expected:
		return fmt.Sprintf("%v: run %s", se, MigrateCommand), false, nil
	case errors.As(err, &se):
		return fmt.Sprintf("%s: schema at version %d, this build needs %d (%s): run %s", s, se.Found, se.Expected, se.Latest, MigrateCommand), false, nil
	case err != nil:
		return "", false, err
	}
	found, err := s.SchemaVersion(ctx)
	if err != nil {
		return "", false, err
	}
	return fmt.Sprintf("%s: schema at version %d, this build needs %d (%s): up to date", s, found, want, name), true, nil
}

// ctlProvisioner is the provision use case of an application built for
// vpngwctl: what it records is published at once, as after an invocation.
type ctlProvisioner struct{ a *App }

func (p ctlProvisioner) Redrive(ctx context.Context, rec store.Request) (provision.Result, error) {
	res, err := p.a.Provision.Redrive(ctx, rec)
	p.a.drain(ctx)
	return res, err
}

func (p ctlProvisioner) Cancel(ctx context.Context, rec store.Request, reason string) (provision.Result, error) {
	res, err := p.a.Provision.Cancel(ctx, rec, reason)
	p.a.drain(ctx)
	return res, err
}

func (p ctlProvisioner) Close() error { return p.a.Close() }
