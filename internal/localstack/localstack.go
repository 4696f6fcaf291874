// Package localstack is the local stack behind `make run` (deploy/local): the
// VPC API emulator, an embedded NATS server, a SQLite store, the provision
// function behind a CloudEvents HTTP endpoint and the reconcile function on a
// ticker, in one process. It lives apart from internal/app so that no
// function binary links the emulator or the NATS server.
package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
	"github.com/vpngw/vpngw/internal/reconcile"
	_ "github.com/vpngw/vpngw/internal/store/sqlstore/sqlite" // the local stack's store is an SQLite file
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// Stack is the running local stack.
type Stack struct {
	App      *app.App
	Emulator *vpcsim.Server
	NATS     *natsembed.Embedded
	HTTPAddr string
	APIAddr  string
	// PolicyNote says which policy is in force.
	PolicyNote string
	// StateNote says whether the store and JetStream were reset at start.
	StateNote string
	// Warnings are printed at the top of the banner: variables the stack
	// does not read (UnknownVars).
	Warnings []string
	// SigningKeyID is the access key ID the stack signs API calls with
	// (never the secret), and SigningNote says where it comes from.
	SigningKeyID, SigningNote string

	httpSrv     *http.Server
	stopAPI     func(context.Context) error
	sub         *nats.Conn
	tickerDone  chan struct{}
	stopTicking context.CancelFunc
}

// Start starts the local stack behind `make run`: the VPC API emulator,
// an embedded NATS server with JetStream, the SQLite store under
// VPNGW_DATA_DIR, the provision function behind a CloudEvents HTTP endpoint,
// and the reconcile function on a ticker. Each event published to the
// embedded NATS is printed to out, as a plain NATS subscriber receives it.
func Start(ctx context.Context, cfg app.Config, log *slog.Logger, out io.Writer) (*Stack, error) {
	// The seed is checked before anything starts, as FromEnv checks the
	// other variables: a bad one names the variable and the field.
	seed, err := vpcsim.LoadSeed(cfg.EmulatorSeed)
	if err != nil {
		return nil, fmt.Errorf("VPNGW_EMULATOR_SEED: %w", err)
	}
	l := &Stack{}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("VPNGW_DATA_DIR: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()

	if cfg.VPCEndpoint == "" {
		// The emulator behaves as a new account does: the documented API
		// rate limits and the default gateway quota (VPNGW_EMULATOR_QUOTA).
		l.Emulator = vpcsim.New(vpcsim.WithProvisioningDelayRange(cfg.EmulatorDelay, cfg.EmulatorDelayMax), vpcsim.WithDeletionDelay(cfg.EmulatorDelay), vpcsim.WithLogger(log.With("component", "vpcsim")),
			vpcsim.WithRateLimits(vpcsim.DefaultRateLimits()), vpcsim.WithGatewayQuota(cfg.EmulatorQuota),
			// The VPCs the samples and the sample policy name, and
			// VPNGW_EMULATOR_SEED's (docs/EMULATOR.md).
			vpcsim.WithSeed(seed))
		addr, stop, err := l.Emulator.Start(cfg.EmulatorAddr)
		if err != nil {
			return nil, fmt.Errorf("VPNGW_EMULATOR_ADDR %s: %w", cfg.EmulatorAddr, err)
		}
		l.APIAddr, l.stopAPI = addr, stop
		cfg.VPCEndpoint = "http://" + addr
		// The embedded emulator knows only its demo key. A user of Alibaba
		// Cloud has their own key exported, as the aliyun CLI and the SDKs
		// expect: signing with it would fail every request, and it must
		// not be used against anything but the real API anyway. So the
		// local stack signs with the demo key, and says so.
		if cfg.Credentials.AccessKeyID != "" && cfg.Credentials.AccessKeyID != vpcsim.DefaultAccessKeyID {
			l.SigningNote = "the emulator's demo key; the exported ALIBABA_CLOUD_ACCESS_KEY_ID is not used while the emulator is embedded (set VPNGW_VPC_ENDPOINT to sign with it)"
			log.Info("the embedded emulator is signed with its demo key; the exported access key is not used", "signing_key_id", vpcsim.DefaultAccessKeyID)
		} else {
			l.SigningNote = "the emulator's demo key"
		}
		cfg.Credentials = cloud.Credentials{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret}
	} else if cfg.Credentials.AccessKeyID != "" {
		l.SigningNote = "ALIBABA_CLOUD_ACCESS_KEY_ID, against " + cfg.VPCEndpoint
	} else {
		// Without a key every request would retry, then fail
		// MissingCredentials: a stack that cannot work does not start.
		// (Functions are not refused: on Function Compute the role's
		// credentials arrive with each invocation.)
		return nil, fmt.Errorf("VPNGW_VPC_ENDPOINT=%s is set, so the local stack signs API calls with your access key, but ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are not set: export both, or unset VPNGW_VPC_ENDPOINT to use the embedded emulator", cfg.VPCEndpoint)
	}
	l.SigningKeyID = cfg.Credentials.AccessKeyID
	// The embedded NATS always runs and prints every event; the sinks of
	// VPNGW_QUEUE_URL, if any, are delivered to besides it.
	{
		natsDir := filepath.Join(cfg.DataDir, "nats")
		if l.Emulator != nil {
			// The store is reset below, and outcome event ids are
			// deterministic: JetStream would drop this run's events as
			// duplicates of the last run's, and a stream consumer would see
			// gateways of a run that is gone. Both start afresh together.
			if err := os.RemoveAll(natsDir); err != nil {
				return nil, fmt.Errorf("reset the local JetStream: %w", err)
			}
		}
		n, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: natsDir, Port: cfg.NATSPort})
		if err != nil {
			return nil, fmt.Errorf("embedded NATS (VPNGW_NATS_PORT %d): %w", cfg.NATSPort, err)
		}
		l.NATS = n
		cfg.QueueURL = strings.TrimSuffix(n.ClientURL()+","+cfg.QueueURL, ",")
		// A plain NATS subscriber, as any consumer would be, prints what
		// arrives.
		nc, err := nats.Connect(n.ClientURL(), nats.Name("vpngw-local-printer"))
		if err != nil {
			return nil, fmt.Errorf("subscribe to the embedded NATS: %w", err)
		}
		l.sub = nc
		if _, err := nc.Subscribe(queue.DefaultSubjectPrefix+".>", func(m *nats.Msg) {
			printEvent(out, m.Subject, m.Data)
		}); err != nil {
			return nil, fmt.Errorf("subscribe to the embedded NATS: %w", err)
		}
	}
	if cfg.Policy == nil {
		p, err := policy.Parse("local policy", []byte(app.LocalPolicy))
		if err != nil {
			return nil, err
		}
		cfg.Policy = p
		l.PolicyNote = "allow-all, local only (VPNGW_POLICY is not set)"
	} else {
		l.PolicyNote = cfg.Policy.Name()
	}
	storeReset := false
	if cfg.StoreURL == "" {
		db := filepath.Join(cfg.DataDir, "vpngw.db")
		if l.Emulator != nil {
			storeReset = true
			// The emulator keeps its gateways in memory; records of an
			// earlier run would name gateways it never heard of.
			for _, f := range []string{db, db + "-wal", db + "-shm"} {
				if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
					return nil, fmt.Errorf("reset the local store: %w", err)
				}
			}
		}
		cfg.StoreURL = "sqlite://" + db
	}

	// The embedded NATS prints every outcome, routed or not.
	a, err := app.New(ctx, cfg, log, app.WithFirstSinkEvery())
	if err != nil {
		return nil, err
	}
	l.App = a
	switch {
	case l.Emulator != nil && l.NATS != nil && storeReset:
		l.StateNote = "reset at every start, SQLite and JetStream together: the embedded emulator forgets its gateways"
	case l.Emulator != nil && l.NATS != nil:
		l.StateNote = "JetStream reset at every start (the embedded emulator forgets its gateways); the store at VPNGW_STORE_URL kept"
	case l.Emulator != nil && storeReset:
		l.StateNote = "SQLite reset at every start (the embedded emulator forgets its gateways); the broker at VPNGW_QUEUE_URL kept"
	default:
		l.StateNote = "kept across restarts"
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("VPNGW_HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	l.HTTPAddr = ln.Addr().String()
	// A request that leaves a gateway pending starts a tick at once if
	// none is running, as the next timer tick would: a tick keeps checking
	// while anything is pending, so a gateway is announced seconds after it
	// turns active, however long VPNGW_RECONCILE_INTERVAL is.
	nudge := make(chan struct{}, 1)
	l.httpSrv = &http.Server{Handler: nudging(a.HTTPHandler(), nudge), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.httpSrv.Serve(ln) }()

	tctx, cancel := context.WithCancel(context.Background())
	l.stopTicking, l.tickerDone = cancel, make(chan struct{})
	go func() {
		defer close(l.tickerDone)
		t := time.NewTicker(cfg.ReconcileInterval)
		defer t.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case <-t.C:
			case <-nudge:
			}
			// Each tick gets the deadline a timer invocation would.
			c, cancel := context.WithTimeout(tctx, max(cfg.ReconcileInterval, 10*time.Second))
			_, _ = a.Reconcile.Tick(c, reconcile.Options{})
			cancel()
		}
	}()
	ok = true
	return l, nil
}

// nudging passes every request to next and then, for a POST (a request, a
// chat command), signals nudge without waiting: the ticker starts a tick
// if none is running, and one that is running claims the new gateway
// within its next round.
func nudging(next http.Handler, nudge chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if r.Method == http.MethodPost {
			select {
			case nudge <- struct{}{}:
			default:
			}
		}
	})
}

// Close stops everything the local stack started.
func (l *Stack) Close() error {
	var errs []error
	if l.stopTicking != nil {
		l.stopTicking()
		<-l.tickerDone
	}
	if l.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, l.httpSrv.Shutdown(ctx))
		cancel()
	}
	if l.App != nil {
		errs = append(errs, l.App.Close())
	}
	if l.sub != nil {
		l.sub.Close()
	}
	if l.NATS != nil {
		l.NATS.Shutdown()
	}
	if l.stopAPI != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, l.stopAPI(ctx))
		cancel()
	}
	return errors.Join(errs...)
}

// printEvent writes one received event as a short line and its JSON.
func printEvent(out io.Writer, subject string, body []byte) {
	var ev struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Subject string          `json:"subject"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		fmt.Fprintf(out, "<- %s (unreadable event: %v)\n", subject, err)
		return
	}
	fmt.Fprintf(out, "<- %s  id=%s  subject=%s\n   %s\n", ev.Type, ev.ID, ev.Subject, ev.Data)
}

// Banner prints where everything listens, which key the stack signs with
// (its ID only), and a request to paste.
func (l *Stack) Banner(w io.Writer) {
	keyID := l.SigningKeyID
	if keyID == "" {
		keyID = "(none)"
	}
	for _, warn := range l.Warnings {
		fmt.Fprintf(w, "\nWARNING: %s: it is ignored.", warn)
	}
	var routes strings.Builder
	for _, r := range l.App.Config.Webhook.Routes() {
		state := "off (set " + r.Variable + ")"
		if r.On {
			state = "on, signed with " + r.Variable
		}
		fmt.Fprintf(&routes, "\n    http://%s/webhook%s  %s: %s", l.HTTPAddr, r.Path, r.What, state)
	}
	sinks := queue.SplitSinks(l.App.Config.QueueURL)
	if len(sinks) == 0 {
		sinks = []string{""}
	}
	fmt.Fprintf(w, `
vpngw local stack is up.
  CloudEvents HTTP endpoint  http://%s/
    the event bus's stand-in: NOT authenticated (any signature, or none, is taken);
    the webhook routes below check signatures
  webhook routes%s
  policy                     %s
  VPC API emulator           %s
  signs API calls with       access key %s (%s)
  NATS (JetStream)           %s   subjects %s.<event type>%s
  store                      %s
  state                      %s
Post the sample request:
  curl -sS -X POST http://%s/ -H 'Content-Type: application/cloudevents+json' --data @events/testdata/requested.json
Ctrl-C stops everything.

`, l.HTTPAddr, routes.String(), l.PolicyNote, l.App.Config.VPCEndpoint, keyID, l.SigningNote, sinks[0], queue.DefaultSubjectPrefix, otherSinks(sinks[1:]), l.App.Config.StoreURL, l.StateNote, l.HTTPAddr)
}

// Run is the whole of `make run`: it reads the configuration from
// environ (os.Environ's form), starts the local stack, prints where
// everything listens and a request to paste, and runs until ctx ends. It
// returns the process's exit status.
func Run(ctx context.Context, environ []string, stdout, stderr io.Writer) int {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	cfg, err := app.FromEnv(func(k string) string { return env[k] }, app.Local)
	log := app.NewLogger(cfg, stderr)
	if err != nil {
		log.Error("configuration invalid", "err", err.Error())
		return 2
	}
	// The local stack is for trying things: a typo is said loudly, in the
	// log and the banner, but does not stop it.
	unknown := app.UnknownVars(environ)
	for _, u := range unknown {
		log.Warn("unknown variable, ignored", "problem", u)
	}
	l, err := Start(ctx, cfg, log, stdout)
	if err != nil {
		log.Error("local stack did not start", "err", err.Error())
		return 1
	}
	defer l.Close()
	l.Warnings = unknown
	l.Banner(stdout)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return 0
}

// otherSinks is the banner's line for the sinks of VPNGW_QUEUE_URL, which
// get every event besides the embedded NATS.
func otherSinks(sinks []string) string {
	if len(sinks) == 0 {
		return ""
	}
	return "\n  also published to          " + strings.Join(sinks, ", ")
}
