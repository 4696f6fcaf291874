package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vpngw/vpngw/internal/runtime"
)

// RunFunction is the whole of a function's main: it reads and validates the
// configuration, builds the application once for the instance, and serves
// invocations with the handler pick chooses, on whichever runtime the
// environment names. It exits with status 1 on a configuration error, naming
// the variable.
func RunFunction(name string, pick func(*App) runtime.Handler) {
	cfg, err := FromEnv(os.Getenv, Function)
	log := NewLogger(cfg, os.Stderr).With("function", name)
	// A variable the function does not read is a typo or a setting of
	// another version: starting would run with the default in its place.
	if unknown := UnknownVars(os.Environ()); len(unknown) > 0 {
		err = errors.Join(err, errors.New(strings.Join(unknown, "; ")))
	}
	if err != nil {
		log.Error("configuration invalid", "err", err.Error())
		os.Exit(1)
	}
	if os.Getenv(runtime.EnvFC) == "" && os.Getenv(runtime.EnvLambda) == "" {
		log.Error(runtime.ErrNoRuntime.Error())
		os.Exit(1)
	}
	a, err := New(context.Background(), cfg, log)
	if err != nil {
		log.Error("start-up failed", "err", err.Error())
		os.Exit(1)
	}
	if name == "webhook" && a.Webhook == nil {
		log.Error("no webhook route is enabled: set VPNGW_WEBHOOK_SECRET, VPNGW_SLACK_SIGNING_SECRET or VPNGW_DINGTALK_APP_SECRET")
		os.Exit(1)
	}
	err = runtime.Start(pick(a), log)
	log.Error(fmt.Sprint(err))
	os.Exit(1)
}
