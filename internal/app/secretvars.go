package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/runtime"
	"github.com/vpngw/vpngw/internal/secrets"
)

// SecretVars are the variables that hold secrets. Each may instead be given
// as its name + "_SECRET" (secrets.Suffix), naming a secret in KMS Secrets
// Manager (Function Compute) or Secrets Manager (Lambda, through the
// Parameters and Secrets extension), fetched when the instance starts; then
// no function's configuration holds the value. VPNGW_STORE_PASSWORD and
// VPNGW_QUEUE_PASSWORD are the passwords of VPNGW_STORE_URL and
// VPNGW_QUEUE_URL, whose URLs then name the user alone.
var SecretVars = []string{
	"VPNGW_STORE_PASSWORD",
	"VPNGW_QUEUE_PASSWORD",
	"VPNGW_SINK_SECRET",
	"VPNGW_WEBHOOK_SECRET",
	"VPNGW_WEBHOOK_SECRET_PREVIOUS",
	"VPNGW_SLACK_SIGNING_SECRET",
	"VPNGW_DINGTALK_APP_SECRET",
	"VPNGW_SLACK_BOT_TOKEN",
	"VPNGW_DINGTALK_ROBOT_WEBHOOK",
	"VPNGW_DINGTALK_ROBOT_SECRET",
	// The webhook's named keys (issue 17, item 1): whatever reads
	// VPNGW_WEBHOOK_KEYS gets the secret's value the same way.
	"VPNGW_WEBHOOK_KEYS",
	"ALIBABA_CLOUD_ACCESS_KEY_ID",
	"ALIBABA_CLOUD_ACCESS_KEY_SECRET",
}

// webhookSecretVars are the SecretVars the webhook verifies requests with,
// which it fetches again every SecretTTL so that a rotation takes effect
// without a redeploy.
var webhookSecretVars = []string{"VPNGW_WEBHOOK_SECRET", "VPNGW_WEBHOOK_SECRET_PREVIOUS", "VPNGW_SLACK_SIGNING_SECRET", "VPNGW_DINGTALK_APP_SECRET", "VPNGW_WEBHOOK_KEYS"}

// secretSource is where the runtime the environment names keeps secrets:
// KMS on Function Compute, the Parameters and Secrets extension on Lambda,
// none elsewhere (the local stack takes values directly).
func secretSource(getenv func(string) string) (secrets.Source, error) {
	switch {
	case getenv(runtime.EnvFC) != "":
		// At start, no invocation has handed over credentials yet:
		// Function Compute puts the role's STS credentials in the
		// instance's environment too. Later fetches (the webhook's
		// refresh) sign with the invocation's. The answers are the
		// secrets themselves: HTTPS, as for every other endpoint.
		if err := checkEndpointTransport(getenv("VPNGW_KMS_ENDPOINT")); err != nil && getenv("VPNGW_ALLOW_INSECURE_TRANSPORT") != "1" {
			return nil, fmt.Errorf("VPNGW_KMS_ENDPOINT: %w %s", err, insecureHint)
		}
		return secrets.NewKMS(getenv("FC_REGION"), getenv("VPNGW_KMS_ENDPOINT"), cloud.Credentials{
			AccessKeyID:     getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
			AccessKeySecret: getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
			SecurityToken:   getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
		})
	case getenv(runtime.EnvLambda) != "":
		return secrets.NewExtension(getenv)
	}
	return nil, nil
}

// resolveSecrets fetches every secret a SecretVars variable names and
// returns getenv answering with them, the store's and the broker's
// passwords put into their URLs. Nothing is fetched, and no source is
// needed, when no variable names a secret.
func resolveSecrets(ctx context.Context, getenv func(string) string, names []string) (func(string) string, secrets.Source, error) {
	var src secrets.Source
	if namesASecret(getenv, names) {
		var err error
		if src, err = secretSource(getenv); err != nil {
			return getenv, nil, err
		}
	}
	resolved, err := resolveWith(ctx, getenv, names, src)
	return resolved, src, err
}

// resolveWith is resolveSecrets with the store given.
func resolveWith(ctx context.Context, getenv func(string) string, names []string, src secrets.Source) (func(string) string, error) {
	vals, err := secrets.Resolve(ctx, getenv, names, src)
	if err != nil {
		return getenv, err
	}
	for _, u := range [][2]string{{"VPNGW_STORE_URL", "VPNGW_STORE_PASSWORD"}, {"VPNGW_QUEUE_URL", "VPNGW_QUEUE_PASSWORD"}} {
		pass, ok := vals[u[1]]
		if !ok || pass == "" {
			continue
		}
		withPass, err := injectPassword(u[0], getenv(u[0]), pass)
		if err != nil {
			return getenv, err
		}
		vals[u[0]] = withPass
	}
	return vals.Getenv(getenv), nil
}

// injectPassword puts pass into raw's user information. The URL must name
// its user and carry no password: two passwords would leave one ignored.
func injectPassword(name, raw, pass string) (string, error) {
	u, err := url.Parse(raw)
	pv := name[:len(name)-len("_URL")] + "_PASSWORD" + secrets.Suffix
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("%s: not a URL (want scheme://user@host/...), so the password %s names has nowhere to go", name, pv)
	}
	switch {
	case u.User == nil || u.User.Username() == "":
		return "", fmt.Errorf("%s names no user (want %s://user@%s...): %s holds only the password", name, u.Scheme, u.Host, pv)
	case func() bool { _, has := u.User.Password(); return has }():
		return "", fmt.Errorf("%s carries a password and %s names one: take the password out of the URL", name, pv)
	}
	u.User = url.UserPassword(u.User.Username(), pass)
	return u.String(), nil
}

// refreshingWebhook serves with the routes built from the webhook secrets
// as last fetched, and fetches them again once ttl has passed, so that a
// secret rotated in the store is in use within ttl, without a redeploy. A
// failed fetch keeps the routes as they are, and is tried again after ttl.
type refreshingWebhook struct {
	cur     atomic.Pointer[http.Handler]
	ttl     time.Duration
	now     func() time.Time
	rebuild func(context.Context) (http.Handler, error)
	log     *slog.Logger

	mu   sync.Mutex
	next time.Time
}

func newRefreshingWebhook(h http.Handler, ttl time.Duration, now func() time.Time, log *slog.Logger, rebuild func(context.Context) (http.Handler, error)) *refreshingWebhook {
	r := &refreshingWebhook{ttl: ttl, now: now, rebuild: rebuild, log: log, next: now().Add(ttl)}
	r.cur.Store(&h)
	return r
}

func (r *refreshingWebhook) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	due := !r.now().Before(r.next)
	if due {
		r.next = r.now().Add(r.ttl) // one fetch per ttl, whatever arrives meanwhile
	}
	r.mu.Unlock()
	if due {
		if h, err := r.rebuild(req.Context()); err != nil {
			r.log.WarnContext(req.Context(), "webhook secrets not fetched again; the ones in use stay", "err", err.Error(), "retry_in", r.ttl.String())
		} else {
			r.cur.Store(&h)
		}
	}
	(*r.cur.Load()).ServeHTTP(w, req)
}

// namesASecret reports whether any of names is given as a secret.
func namesASecret(getenv func(string) string, names []string) bool {
	for _, n := range names {
		if getenv(n+secrets.Suffix) != "" {
			return true
		}
	}
	return false
}

// inlinePasswords refuses, in a function, a store or broker URL that
// carries its password: the function's configuration is readable by anyone
// allowed fc:GetFunction (lambda:GetFunctionConfiguration) and printed by
// deploys. The URL names the user; X_PASSWORD_SECRET names the password's
// secret.
func inlinePasswords(getenv func(string) string) error {
	var errs []error
	for _, name := range []string{"VPNGW_STORE_URL", "VPNGW_QUEUE_URL"} {
		u, err := url.Parse(getenv(name))
		if err != nil || u.User == nil {
			continue
		}
		if _, has := u.User.Password(); has {
			errs = append(errs, fmt.Errorf("%s carries a password: a function's configuration is no place for it; name the user alone (%s://%s@%s...) and the password's secret in %s",
				name, u.Scheme, u.User.Username(), u.Host, strings.TrimSuffix(name, "_URL")+"_PASSWORD"+secrets.Suffix))
		}
	}
	return errors.Join(errs...)
}
