package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/chatreply"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/webhook"
)

// App is everything a function needs, built once per process and reused by
// every invocation of a warm instance.
type App struct {
	Config    Config
	Log       *slog.Logger
	Store     *sqlstore.Store
	Publisher queue.Publisher // the first sink's
	// Sinks are the publishers of every sink of VPNGW_QUEUE_URL, the first
	// included.
	Sinks     []queue.Publisher
	Cloud     *vpcclient.Client
	Provision *provision.Service
	Reconcile *reconcile.Service
	Outbox    *outbox.Drainer
	// Webhook serves the webhook function's routes; nil when no webhook
	// secret is set, or when New was not asked for them (WithWebhook).
	Webhook http.Handler
	// webhookRoutes builds Webhook again from a configuration (fresh
	// secrets); nil when New was not asked for the routes.
	webhookRoutes func(webhook.Config, func() time.Time) (http.Handler, error)
}

// Option adjusts what New builds (the local stack and component tests).
type Option func(*options)

type options struct {
	clock      func() time.Time
	publisher  queue.Publisher
	firstEvery bool
	sleep      func(context.Context, time.Duration) error
	speed      float64
	webhook    func(*App, webhook.Config, func() time.Time) (http.Handler, error)
	apiSpeed   float64
}

// WithClock sets the clock the use cases read.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithTimer lets a reconcile tick on the clock of WithClock keep checking
// while gateways are pending (reconcile.DefaultSchedule): sleep waits on
// that clock, which runs speed times as fast as the wall clock
// (testclock.Clock's Sleep and Speed). Without it, an application on a
// clock of WithClock checks once per tick, as a clock that no one moves
// would otherwise keep a tick waiting until its deadline; one on the wall
// clock always keeps checking.
func WithTimer(sleep func(context.Context, time.Duration) error, speed float64) Option {
	return func(o *options) { o.sleep, o.speed = sleep, speed }
}

// WithAPIClockSpeed says that the VPC API's clock runs speed times the
// wall clock (an emulator's, in a benchmark): what the client learns from
// throttling (its quota window, hold and probing) runs on that clock.
func WithAPIClockSpeed(speed float64) Option { return func(o *options) { o.apiSpeed = speed } }

// WithPublisher uses p, as the only sink, instead of opening VPNGW_QUEUE_URL.
func WithPublisher(p queue.Publisher) Option { return func(o *options) { o.publisher = p } }

// WithFirstSinkEvery makes the first sink of VPNGW_QUEUE_URL take every
// event whatever the policy's routing: the local stack's embedded NATS,
// which prints every outcome.
func WithFirstSinkEvery() Option { return func(o *options) { o.firstEvery = true } }

// WithWebhook builds the webhook's routes (App.Webhook) when a webhook secret
// is set. New always asks for them; of the functions, only the webhook
// function does (RunFunction's options), so that provision and reconcile,
// which serve no HTTP trigger, do not link the routes, their signature checks
// and chat command parsing.
func WithWebhook() Option { return func(o *options) { o.webhook = (*App).newWebhook } }

// NewLogger builds the process's logger from the configuration.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	lvl, _ := logging.ParseLevel(c.LogLevel)
	return logging.New(w, c.LogFormat, lvl)
}

// New builds the application, the webhook's routes included (WithWebhook).
// Connections to the store and the broker are opened here, once per
// instance, so that warm invocations reuse them.
func New(ctx context.Context, c Config, log *slog.Logger, opts ...Option) (*App, error) {
	return build(ctx, c, log, append([]Option{WithWebhook()}, opts...)...)
}

// build is New with the webhook's routes only when opts ask for them.
func build(ctx context.Context, c Config, log *slog.Logger, opts ...Option) (_ *App, err error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	schedule, speed := reconcile.OneCheckPerTick, 1.0
	if o.sleep != nil && o.speed > 0 {
		speed = o.speed
	}
	if o.clock == nil || o.sleep != nil {
		schedule = reconcile.DefaultSchedule
	}
	if o.clock == nil {
		o.clock = time.Now
	}
	a := &App{Config: c, Log: log}
	// What New opened, closed again when a later step fails: a warm
	// instance that retries must not pile up connections.
	var opened []func() error
	defer func() {
		if err != nil {
			for i := len(opened) - 1; i >= 0; i-- {
				_ = opened[i]()
			}
		}
	}()
	var storeOpts []sqlstore.Option
	if o.sleep != nil {
		// Reconcile sleeps on the clock of WithClock and spaces its checks
		// through the store's api_slots, which the store times: on the
		// same clock.
		storeOpts = append(storeOpts, sqlstore.WithClock(o.clock))
	}
	a.Store, err = openStore(ctx, c, storeOpts...)
	if err != nil {
		return nil, err
	}
	opened = append(opened, a.Store.Close)
	limiter, err := rateLimiter(c, a.Store, log)
	if err != nil {
		return nil, err
	}
	a.Cloud, err = vpcclient.New(vpcclient.Config{Endpoint: c.VPCEndpoint, Credentials: c.Credentials, Rates: c.APIRates, Limiter: limiter, RootCAs: c.RootCAs,
		Book: a.Store, Log: log, Learning: vpcclient.Learning{}.OnClock(o.apiSpeed)})
	if err != nil {
		return nil, fmt.Errorf("VPNGW_VPC_ENDPOINT: %w", err)
	}
	pubs, sinks := []queue.Publisher{o.publisher}, []outbox.Sink{{Name: store.FirstSink, Pub: sinkPublisher(o.publisher)}}
	if o.publisher == nil {
		if errs := checkRoutes(c.Policy, queue.NamedSinks(c.QueueURL)); len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		if pubs, sinks, err = openSinks(ctx, c); err != nil {
			return nil, err
		}
		for _, name := range idleSinks(c.Policy, queue.NamedSinks(c.QueueURL)) {
			log.WarnContext(ctx, "a named sink receives nothing: no policy rule routes to it (sinks: ["+name+"]), and the outcomes no rule routes go to the unnamed sinks", "sink", name)
		}
		for _, p := range pubs {
			opened = append(opened, p.Close)
		}
	}
	sinks[0].Every = o.firstEvery
	a.Publisher, a.Sinks = pubs[0], pubs
	// Chat replies are a destination of every drain, so that whichever
	// function drains an outcome (provision, webhook, reconcile) posts it
	// to the request's conversation; an outcome of a request no chat made
	// is delivered to it at no read of its own (the outbox read brings
	// each event's reply address).
	sinks = append(sinks, outbox.Sink{Name: chatreply.SinkName, Pub: chatreply.New(a.Store, chatConfig(c, o.clock)), Every: true})
	a.Outbox, err = outbox.NewSinks(a.Store, sinks, log, outbox.WithClock(o.clock))
	if err != nil {
		return nil, err
	}
	popts := []provision.Option{provision.WithClock(o.clock), provision.WithLogger(log), provision.WithConcurrency(c.Concurrency),
		provision.WithPermissionFaultBound(c.ProvisionTimeout)}
	if c.Policy != nil {
		popts = append(popts, provision.WithPolicy(c.Policy))
	}
	popts = append(popts, provision.WithDeleter(deleter{a.Cloud}))
	a.Provision, err = provision.New(a.Store, creator{a.Cloud}, popts...)
	if err != nil {
		return nil, err
	}
	if o.webhook != nil {
		a.webhookRoutes = func(w webhook.Config, clock func() time.Time) (http.Handler, error) {
			return o.webhook(a, w, clock)
		}
	}
	if w := c.Webhook; a.webhookRoutes != nil && (len(w.Keys) > 0 || w.Secret != "" || w.SlackSigningSecret != "" || w.DingTalkAppSecret != "") {
		a.Webhook, err = a.webhookRoutes(w, o.clock)
		if err != nil {
			return nil, err
		}
	}
	a.Reconcile, err = reconcile.New(a.Store, a.Cloud,
		reconcile.WithClock(o.clock), reconcile.WithLogger(log),
		reconcile.WithProvisionTimeout(c.ProvisionTimeout),
		reconcile.WithRedriver(redriver{a.Provision}, c.RedriveAfter),
		reconcile.WithBatches(a.Provision),
		reconcile.WithExpiry(a.Store, expirer{a.Provision}),
		reconcile.WithDrainer(a.Outbox),
		reconcile.WithSchedule(schedule), reconcile.WithTimer(o.sleep, o.speed),
		// VPNGW_API_RATES are wall-clock rates; the checks are spaced on
		// reconcile's clock, which runs speed times as fast.
		reconcile.WithQuotaShare(a.Store, ReconcileQuotaShare*c.APIRates["DescribeVpnGateways"]/speed),
		reconcile.WithHistory(a.Store),
		reconcile.WithOrphans(a.Store, c.Policy.Orphans))
	if err != nil {
		return nil, err
	}
	return a, nil
}

// The adapters New wires, checked against the ports the use cases declare.
var (
	_ provision.Store         = (*sqlstore.Store)(nil)
	_ provision.Creator       = creator{}
	_ provision.Deleter       = deleter{}
	_ provision.DeletePolicy  = (*policy.Policy)(nil)
	_ reconcile.Store         = (*sqlstore.Store)(nil)
	_ reconcile.OrphanStore   = (*sqlstore.Store)(nil)
	_ reconcile.History       = (*sqlstore.Store)(nil)
	_ reconcile.Describer     = (*vpcclient.Client)(nil)
	_ reconcile.Redriver      = redriver{}
	_ reconcile.Expirer       = expirer{}
	_ reconcile.BatchFinisher = (*provision.Service)(nil)
	_ reconcile.Drainer       = (*outbox.Drainer)(nil)
	_ outbox.Store            = (*sqlstore.Store)(nil)
	_ webhook.ReplayGuard     = (*sqlstore.Store)(nil)
	_ webhook.Provisioner     = webhook.ProvisionerFunc(nil)
	_ vpcclient.SlotReserver  = (*sqlstore.Store)(nil)
)

// newWebhook builds the webhook's routes on a's store and provisioning,
// verifying requests with w's secrets.
func (a *App) newWebhook(w webhook.Config, clock func() time.Time) (http.Handler, error) {
	p := webhook.ProvisionerFunc(func(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
		res, err := a.Provision.HandleAll(ctx, in)
		a.drain(ctx)
		return res, err
	})
	return webhook.New(w, p, a.Store, webhook.WithLogger(a.Log), webhook.WithClock(clock),
		webhook.WithAllowedRate(deliveriesPerMinute(a.Config.APIRates)),
		webhook.WithChatReplies(a.Store, chatreply.NewAllow(a.Config.Chat.Allow).Allowed),
		webhook.WithStatus(a.Store))
}

// Close releases the store and every sink's publisher.
func (a *App) Close() error {
	pubs := a.Sinks
	if len(pubs) == 0 && a.Publisher != nil {
		pubs = []queue.Publisher{a.Publisher}
	}
	errs := make([]error, 0, len(pubs)+1)
	for _, p := range pubs {
		errs = append(errs, p.Close())
	}
	return errors.Join(append(errs, a.Store.Close())...)
}

// drain publishes what the invocation recorded, within a short budget: a
// broker that is down must not hold the invocation, and whatever is left is
// published by the next reconcile tick.
func (a *App) drain(ctx context.Context) {
	budget := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - time.Second; left < budget {
			budget = left
		}
	}
	if budget <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if _, err := a.Outbox.Drain(ctx); err != nil {
		a.Log.WarnContext(ctx, "outbox not fully published; the next reconcile tick retries", "err", err)
	}
}

// ReconcileQuotaShare is the share of the DescribeVpnGateways rate of
// VPNGW_API_RATES (per region) that reconcile's repeated checks may use, all
// instances together (the store's api_slots): half, so that the other half
// stays for everything else the account runs (the console, Terraform,
// scripts, vpngwctl). With the documented 600 a minute, checks make at most
// 300 calls a minute per region: ⌈N/50⌉ calls a check, so one check of up
// to 500 pending gateways of a region every 2 s.
const ReconcileQuotaShare = 0.5

// rateLimiter is the limiter VPNGW_API_RATE_SCOPE asks for: shared through
// the store (auto: on PostgreSQL and MySQL, which every instance reaches), or
// this instance's own (auto: on SQLite, which one instance uses).
func rateLimiter(c Config, st *sqlstore.Store, log *slog.Logger) (vpcclient.Limiter, error) {
	return pickLimiter(c.APIRateScope, st.Kind(), st, c.APIRates, log)
}

// pickLimiter is rateLimiter for a store of the given kind.
func pickLimiter(scope, kind string, slots vpcclient.SlotReserver, rates map[string]float64, log *slog.Logger) (vpcclient.Limiter, error) {
	if scope == "auto" || scope == "" {
		scope = "shared"
		if kind == "sqlite" {
			scope = "instance"
		}
	}
	if scope == "instance" {
		return vpcclient.NewInstanceLimiter(), nil
	}
	log.Info("API rate limit shared through the store", "rates", rates)
	return vpcclient.SharedLimiter{Slots: slots}, nil
}

// creator adapts the cloud client to the provision use case's port.
type creator struct{ c *vpcclient.Client }

func (c creator) Create(ctx context.Context, r events.GatewayRequest, token string) (provision.Created, error) {
	res, err := c.c.CreateVpnGateway(ctx, r, token)
	if err != nil {
		return provision.Created{}, err
	}
	return provision.Created{GatewayID: res.VpnGatewayID, Name: res.Name, OrderID: res.OrderID, RequestID: res.RequestID}, nil
}

// deleter adapts the cloud client to the provision use case's deletion
// port.
type deleter struct{ c *vpcclient.Client }

func (d deleter) Gateway(ctx context.Context, region, id string) (cloud.Gateway, bool, error) {
	p, err := d.c.DescribeVpnGateways(ctx, region, cloud.Filter{VpnGatewayId: id}, 1, cloud.MaxPageSize)
	if err != nil {
		return cloud.Gateway{}, false, err
	}
	for _, g := range p.Gateways {
		if g.VpnGatewayId == id {
			return g, true, nil
		}
	}
	return cloud.Gateway{}, false, nil
}

func (d deleter) Delete(ctx context.Context, region, id, token string) (string, error) {
	return d.c.DeleteVpnGateway(ctx, region, id, token)
}

// redriver adapts the provision use case to the reconcile use case's port.
type redriver struct{ p *provision.Service }

func (r redriver) Redrive(ctx context.Context, rec store.Request) error {
	_, err := r.p.Redrive(ctx, rec)
	return err
}

// expirer adapts the provision use case's Expire to the reconcile use
// case's port.
type expirer struct{ p *provision.Service }

func (e expirer) Expire(ctx context.Context, rec store.Request) (bool, error) {
	res, err := e.p.Expire(ctx, rec)
	return res.State == store.Failed, err
}

// chatConfig is the chat destination's configuration.
func chatConfig(c Config, clock func() time.Time) chatreply.Config {
	return chatreply.Config{
		Allow:         chatreply.NewAllow(c.Chat.Allow),
		SlackReply:    c.Chat.SlackReply,
		SlackBotToken: c.Chat.SlackBotToken, SlackAPIURL: c.Chat.SlackAPIURL,
		DingTalkRobotWebhook: c.Chat.DingTalkRobotWebhook, DingTalkRobotSecret: c.Chat.DingTalkRobotSecret,
		Now: clock,
	}
}
