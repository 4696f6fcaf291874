package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/runtime"
)

// RunFunction is the whole of a function's main: it reads and validates the
// configuration, builds the application once for the instance, and serves
// invocations with the handler pick chooses, on whichever runtime the
// environment names. It exits with status 1 on a configuration error, naming
// the variable. opts are the parts of New the function uses beyond the
// common ones: the webhook function's routes (WithWebhook).
func RunFunction(name string, pick func(*App) runtime.Handler, opts ...Option) {
	// Secrets are fetched before anything else reads the configuration,
	// once for the instance; their values live in this process's memory
	// only, never in its environment.
	ctx := context.Background()
	getenv, _, serr := resolveSecrets(ctx, os.Getenv, SecretVars)
	cfg, err := FromEnv(getenv, Function)
	err = errors.Join(inlinePasswords(os.Getenv), serr, err)
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
	a, err := build(ctx, cfg, log, opts...)
	if err != nil {
		log.Error("start-up failed", "err", err.Error())
		os.Exit(1)
	}
	if name == "webhook" && a.Webhook == nil {
		log.Error("no webhook route is enabled: name its secret in VPNGW_WEBHOOK_KEYS_SECRET, VPNGW_SLACK_SIGNING_SECRET_SECRET or VPNGW_DINGTALK_APP_SECRET_SECRET (or give VPNGW_WEBHOOK_KEYS, VPNGW_SLACK_SIGNING_SECRET or VPNGW_DINGTALK_APP_SECRET)")
		os.Exit(1)
	}
	if a.Webhook != nil && a.webhookRoutes != nil && namesASecret(os.Getenv, webhookSecretVars) {
		a.Webhook = newRefreshingWebhook(a.Webhook, cfg.SecretTTL, time.Now, log, func(ctx context.Context) (http.Handler, error) {
			// The invocation's context carries its credentials: the
			// fetch signs with them.
			getenv, _, err := resolveSecrets(ctx, os.Getenv, webhookSecretVars)
			if err != nil {
				return nil, err
			}
			c, err := FromEnv(getenv, Function)
			if err != nil {
				return nil, err
			}
			return a.webhookRoutes(c.Webhook, time.Now)
		})
	}
	err = runtime.Start(pick(a), log)
	log.Error(fmt.Sprint(err))
	os.Exit(1)
}
