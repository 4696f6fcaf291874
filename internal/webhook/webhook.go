package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/provision"
)

// Defaults of Config.
const (
	// DefaultMaxSkew is how far a request's timestamp may be from the clock,
	// either way: Slack's documented window, and well inside DingTalk's hour.
	DefaultMaxSkew = 5 * time.Minute
	// MaxMaxSkew is the largest MaxSkew accepted: DingTalk's documented bound.
	// A longer window only widens what a captured request can be replayed in.
	MaxMaxSkew = time.Hour
	// DefaultMaxBody bounds a request body; the same as the CloudEvents HTTP
	// endpoint of the local stack.
	DefaultMaxBody int64 = 1 << 20
	// DefaultChatTimeout bounds the work behind one chat command: Slack shows
	// the user an error when a slash command is not answered within 3 s.
	DefaultChatTimeout = 2500 * time.Millisecond
	// MinSecretLength is the shortest secret accepted, in bytes: for
	// VPNGW_WEBHOOK_SECRET (and _PREVIOUS), VPNGW_SLACK_SIGNING_SECRET and
	// VPNGW_DINGTALK_APP_SECRET.
	MinSecretLength = 16
)

// retryAfterDefault is the Retry-After of a 503, and of a 429 whose cause
// did not say how long to wait.
const retryAfterDefault = 10 * time.Second

// Config configures the handler. Each secret enables its route; at least
// one must be set.
type Config struct {
	// Keys are the named keys of POST / (VPNGW_WEBHOOK_KEYS): each signs
	// the requests of one sender, bound to the sources it may claim.
	Keys []Key
	// Secret signs requests to POST / (VPNGW_WEBHOOK_SECRET): the legacy
	// key without a name, bound to SecretSources.
	Secret string
	// SecretSources are the sources a request signed with Secret may
	// claim (VPNGW_WEBHOOK_SECRET_SOURCES); required with Secret.
	SecretSources []string
	// PreviousSecret is also accepted on POST / while senders move to a new
	// Secret (VPNGW_WEBHOOK_SECRET_PREVIOUS).
	PreviousSecret string
	// SlackSigningSecret verifies POST /slack (VPNGW_SLACK_SIGNING_SECRET).
	SlackSigningSecret string
	// DingTalkAppSecret verifies POST /dingtalk (VPNGW_DINGTALK_APP_SECRET).
	DingTalkAppSecret string
	// MaxSkew is how far a request's timestamp may be from the clock, in
	// either direction (VPNGW_WEBHOOK_MAX_SKEW; DefaultMaxSkew when zero).
	MaxSkew time.Duration
	// MaxBody bounds a request body in bytes (DefaultMaxBody when zero).
	MaxBody int64
	// ChatTimeout bounds the work behind one chat command
	// (DefaultChatTimeout when zero).
	ChatTimeout time.Duration
}

// String names the enabled routes and the limits, never a secret, so that a
// Config can be logged.
func (c Config) String() string {
	var routes []string
	if len(c.Keys) > 0 {
		names := make([]string, len(c.Keys))
		for i, k := range c.Keys {
			names[i] = k.String()
		}
		routes = append(routes, "POST / with keys "+strings.Join(names, ", "))
	}
	if c.Secret != "" {
		r := "POST / with VPNGW_WEBHOOK_SECRET (sources " + strings.Join(c.SecretSources, " | ") + ")"
		if c.PreviousSecret != "" {
			r += " (with a previous secret)"
		}
		routes = append(routes, r)
	}
	if c.SlackSigningSecret != "" {
		routes = append(routes, "POST /slack")
	}
	if c.DingTalkAppSecret != "" {
		routes = append(routes, "POST /dingtalk")
	}
	if routes == nil {
		routes = []string{"none"}
	}
	return fmt.Sprintf("webhook routes: %s; max skew %s; max body %d bytes; chat timeout %s",
		strings.Join(routes, ", "), c.MaxSkew, c.MaxBody, c.ChatTimeout)
}

// LogValue logs the Config as String does.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// GoString keeps the secrets out of %#v too.
func (c Config) GoString() string { return c.String() }

// Provisioner takes the requests a webhook delivers: provision.Service, or a
// wrapper that also publishes what it recorded.
type Provisioner interface {
	HandleAll(ctx context.Context, in []provision.Input) ([]provision.Result, error)
}

// ProvisionerFunc adapts a function to Provisioner.
type ProvisionerFunc func(ctx context.Context, in []provision.Input) ([]provision.Result, error)

// HandleAll calls f.
func (f ProvisionerFunc) HandleAll(ctx context.Context, in []provision.Input) ([]provision.Result, error) {
	return f(ctx, in)
}

// ReplayGuard remembers the requests already served. It must be shared by
// every instance of the function (sqlstore.Store implements it): Function
// Compute runs many, and a replay may reach any of them.
type ReplayGuard interface {
	// FirstUse records key until the instant until and reports whether it
	// was unused (or its record expired). The key must be current at every
	// instant before until (it may expire at until). Of concurrent calls
	// with one key, exactly one sees true.
	FirstUse(ctx context.Context, key string, until time.Time) (bool, error)
}

// Callers, as provision.Input.Caller names them: which route, and so which
// secret, authenticated a request. The policy binds its rules to them.
const (
	CallerWebhook  = policy.CallerWebhook
	CallerSlack    = policy.CallerSlack
	CallerDingTalk = policy.CallerDingTalk
)

// Option adjusts the handler.
type Option func(*handler)

// WithClock sets the clock timestamps are checked against (tests).
func WithClock(now func() time.Time) Option { return func(h *handler) { h.now = now } }

// WithLogger sets the logger refusals and failures are logged to.
func WithLogger(l *slog.Logger) Option { return func(h *handler) { h.log = l } }

// WithAllowedRate sets the deliveries per minute POST / lets through before
// answering 429, which the abuse-protection handshake grants senders
// (WebHook-Allowed-Rate; "*" when zero, the default).
func WithAllowedRate(perMinute int) Option {
	return func(h *handler) { h.allowedRate = max(perMinute, 0) }
}

type handler struct {
	cfg    Config
	keys   []signer // POST /: the named keys, then the legacy secret
	p      Provisioner
	replay ReplayGuard
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux
	// allowedRate is the WebHook-Allowed-Rate of the handshake.
	allowedRate int
	// refusals bounds the log lines of refused requests.
	refusals *logBucket
	// replies keeps chat reply addresses replyAllowed allows
	// (WithChatReplies).
	replies      ReplyStore
	replyAllowed func(url string) bool
	// status answers the status command (WithStatus).
	status StatusStore
}

// Validate checks the settings every route shares, naming the variable:
// a secret of POST / (the current one or the previous one, which signs
// requests just as well) shorter than MinSecretLength, a previous secret
// without a current one, and a MaxSkew that is negative or over MaxMaxSkew.
// It does not ask for a route to be enabled: the configuration of a function
// that serves none is valid too (internal/app checks it at start-up).
func (c Config) Validate() error {
	var errs []error
	if c.Secret != "" && len(c.Secret) < MinSecretLength {
		errs = append(errs, fmt.Errorf("VPNGW_WEBHOOK_SECRET is %d bytes; use at least %d random bytes, e.g. the output of `openssl rand -hex 32`", len(c.Secret), MinSecretLength))
	}
	if c.PreviousSecret != "" && len(c.PreviousSecret) < MinSecretLength {
		errs = append(errs, fmt.Errorf("VPNGW_WEBHOOK_SECRET_PREVIOUS is %d bytes; it signs requests as VPNGW_WEBHOOK_SECRET does, so it needs at least %d random bytes too", len(c.PreviousSecret), MinSecretLength))
	}
	// Slack's signing secrets are 32 hex characters and DingTalk's
	// AppSecrets 64 characters; anything under MinSecretLength is not one,
	// and a short HMAC key lets anyone sign a create.
	if c.SlackSigningSecret != "" && len(c.SlackSigningSecret) < MinSecretLength {
		errs = append(errs, fmt.Errorf("VPNGW_SLACK_SIGNING_SECRET is %d bytes; it must be at least %d: use the Slack app's Signing Secret (Basic Information, App Credentials; 32 hex characters)", len(c.SlackSigningSecret), MinSecretLength))
	}
	if c.DingTalkAppSecret != "" && len(c.DingTalkAppSecret) < MinSecretLength {
		errs = append(errs, fmt.Errorf("VPNGW_DINGTALK_APP_SECRET is %d bytes; it must be at least %d: use the robot's AppSecret from the DingTalk developer console (64 characters)", len(c.DingTalkAppSecret), MinSecretLength))
	}
	if c.PreviousSecret != "" && c.Secret == "" {
		errs = append(errs, errors.New("VPNGW_WEBHOOK_SECRET_PREVIOUS is set without VPNGW_WEBHOOK_SECRET: it is accepted only beside a current secret"))
	}
	errs = append(errs, c.validateKeys()...)
	if c.MaxSkew < 0 || c.MaxSkew > MaxMaxSkew {
		errs = append(errs, fmt.Errorf("VPNGW_WEBHOOK_MAX_SKEW=%s: want a positive duration of at most %s", c.MaxSkew, MaxMaxSkew))
	}
	return errors.Join(errs...)
}

// New builds the webhook handler: POST / for CloudEvents signed with
// VPNGW_WEBHOOK_SECRET, POST /slack for Slack slash commands and POST
// /dingtalk for DingTalk outgoing robot messages. It refuses a configuration
// without any secret and whatever Validate refuses, naming the variable.
func New(cfg Config, p Provisioner, replay ReplayGuard, opts ...Option) (http.Handler, error) {
	if p == nil || replay == nil {
		return nil, errors.New("webhook: a provisioner and a replay guard are required")
	}
	var errs []error
	if len(cfg.Keys) == 0 && cfg.Secret == "" && cfg.SlackSigningSecret == "" && cfg.DingTalkAppSecret == "" {
		errs = append(errs, errors.New("webhook: no route is enabled: set VPNGW_WEBHOOK_KEYS, VPNGW_SLACK_SIGNING_SECRET or VPNGW_DINGTALK_APP_SECRET"))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.ChatTimeout <= 0 {
		cfg.ChatTimeout = DefaultChatTimeout
	}
	h := &handler{cfg: cfg, p: p, replay: replay, now: time.Now, log: slog.Default(), mux: http.NewServeMux(), keys: signers(cfg)}
	for _, o := range opts {
		o(h)
	}
	h.refusals = newLogBucket(refusalBurst, refusalEvery, h.now)
	h.mux.HandleFunc("POST /{$}", h.cloudEvents)
	h.mux.HandleFunc("OPTIONS /{$}", h.handshake)
	h.mux.HandleFunc("POST /slack", h.slack)
	h.mux.HandleFunc("POST /dingtalk", h.dingTalk)
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Response is the JSON body of every answer of POST /: the requests and
// their states (202, 400, 429, 503), or why the delivery was refused.
type Response struct {
	Results []provision.Result `json:"results,omitempty"`
	Error   string             `json:"error,omitempty"`
}

// cloudEvents serves POST /: CloudEvents over HTTP in binary, structured
// or batch mode, signed with the shared secret.
func (h *handler) cloudEvents(w http.ResponseWriter, r *http.Request) {
	if len(h.keys) == 0 {
		h.routeOff(w, r, "POST /", EnvKeys)
		return
	}
	key := -1
	body, ok := h.authenticate(r.Context(), w, r, CallerWebhook, func(body []byte) (verified, error) {
		v, k, err := verifyKeys(r.Header, body, h.keys, h.now(), h.cfg.MaxSkew)
		key = k
		return v, err
	})
	if !ok {
		return
	}
	signer := h.keys[key]
	// Only now, with the sender known, is anything in the request parsed.
	items, err := intake.FromHTTPMessage(r.Header, body)
	if err != nil {
		status := http.StatusBadRequest
		var ie *intake.Error
		if errors.As(err, &ie) {
			status = ie.Kind.HTTPStatus()
		}
		writeJSON(w, status, Response{Error: err.Error()})
		return
	}
	// A key speaks only for its own sources. A claim beyond them is refused
	// whole and nothing is recorded: a record under another sender's
	// source and id would take that request's place (its id is then seen
	// as a redelivery) and count against its quota.
	claimed := make([]string, len(items))
	for i, it := range items {
		claimed[i] = it.Identity.Source
	}
	if bad := signer.unbound(claimed); len(bad) > 0 {
		msg := fmt.Sprintf("%s may not claim the source %s: it is bound to %s; nothing was recorded",
			signer.describe(), quoteAll(bad), signer.sources)
		h.log.WarnContext(r.Context(), "webhook request refused: source not bound to its key", "key", signer.name, "sources", bad)
		writeJSON(w, http.StatusForbidden, Response{Error: msg})
		return
	}
	results, err := h.p.HandleAll(r.Context(), provision.Inputs(items, CallerWebhook, signer.name))
	status := http.StatusAccepted
	switch {
	case err != nil:
		status = h.busy(w, r, err)
	case provision.AllFailed(results) && provision.Conflicted(results):
		// An id already used for other data: the sender must choose a new id.
		status = http.StatusConflict
	case provision.AllFailed(results):
		status = http.StatusBadRequest
	}
	writeJSON(w, status, Response{Results: results})
}

// handshake serves OPTIONS /: the CloudEvents Webhook abuse-protection
// handshake (see intake.Handshake), before any delivery and so without a
// signature. Without VPNGW_WEBHOOK_SECRET POST / takes nothing, and no
// consent is given.
func (h *handler) handshake(w http.ResponseWriter, r *http.Request) {
	if len(h.keys) == 0 {
		writeJSON(w, http.StatusNotFound, Response{Error: "POST / is not enabled here"})
		return
	}
	intake.Handshake(h.allowedRate).ServeHTTP(w, r)
}

// readBody reads the body up to the limit, answering 413 beyond it. Nothing
// is parsed here: the body is only bytes to check the signature over.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	limit := h.cfg.MaxBody
	tooLarge := func() ([]byte, bool) {
		writeJSON(w, http.StatusRequestEntityTooLarge, Response{Error: fmt.Sprintf("request body is over the limit of %d bytes", limit)})
		return nil, false
	}
	if r.ContentLength > limit {
		return tooLarge()
	}
	if r.Body == nil {
		return nil, true
	}
	read := limit
	if read < math.MaxInt64 {
		read++ // one byte more than allowed tells "at the limit" from "over it"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, read))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, Response{Error: "could not read the request body: " + err.Error()})
		return nil, false
	}
	if int64(len(body)) > limit {
		return tooLarge()
	}
	return body, true
}

// authenticate reads the body and lets nothing else be read unless verify
// accepts it and the replay guard has not seen it: otherwise it has answered
// (413, 401, 503) and reports false. route names the caller in logs.
func (h *handler) authenticate(ctx context.Context, w http.ResponseWriter, r *http.Request, route string, verify func(body []byte) (verified, error)) ([]byte, bool) {
	body, ok := h.readBody(w, r)
	if !ok {
		return nil, false
	}
	v, err := verify(body)
	if err == nil {
		err = h.firstUse(ctx, v)
	}
	if err != nil {
		h.refuse(w, r, route, err)
		return nil, false
	}
	return body, true
}

// firstUse asks the replay guard about a verified request.
func (h *handler) firstUse(ctx context.Context, v verified) error {
	first, err := h.replay.FirstUse(ctx, v.replayKey, v.until)
	if err != nil {
		return &guardError{err: err}
	}
	if !first {
		return authErrorf("this signed request was already received (replayed); sign every attempt afresh")
	}
	// The guard's answer holds only while the timestamp is still accepted:
	// time passed while it was asked, and a key the guard let go because
	// that time went past the window must not let the request in.
	if err := checkSkew(v.header, v.at, h.now(), h.cfg.MaxSkew); err != nil {
		return err
	}
	return nil
}

// guardError: the replay guard could not answer, so the request can be
// neither trusted nor refused.
type guardError struct{ err error }

func (e *guardError) Error() string { return "replay check: " + e.err.Error() }
func (e *guardError) Unwrap() error { return e.err }

// refuse answers a request that failed authentication: 401, or 503 when the
// replay guard could not be asked. Either way nothing was recorded.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, route string, err error) {
	var ge *guardError
	if errors.As(err, &ge) {
		h.log.ErrorContext(r.Context(), "webhook replay check failed", "route", route, "err", ge.err)
		w.Header().Set("Retry-After", seconds(retryAfterDefault))
		writeJSON(w, http.StatusServiceUnavailable, Response{Error: "the request cannot be checked against replays now; try again later"})
		return
	}
	// A flood of unsigned requests must not flood the log: a bucket of
	// lines, and a count of what it held back on the next line let through.
	if ok, suppressed := h.refusals.take(); ok {
		args := []any{"route", route, "reason", err.Error(), "remote_addr", r.RemoteAddr}
		if suppressed > 0 {
			args = append(args, "suppressed", suppressed)
		}
		h.log.WarnContext(r.Context(), "webhook request refused", args...)
	}
	w.Header().Set("WWW-Authenticate", authScheme[route])
	writeJSON(w, http.StatusUnauthorized, Response{Error: err.Error()})
}

// authScheme names each route's scheme in WWW-Authenticate, which a 401
// must carry.
var authScheme = map[string]string{
	CallerWebhook:  `Vpngw-HMAC-SHA256 headers="` + HeaderTimestamp + " " + HeaderSignature + `"`,
	CallerSlack:    `Slack-Signature-v0`,
	CallerDingTalk: `DingTalk-Sign`,
}

// busy answers a delivery the Provisioner could not finish: 429 when the
// API's quota for the account is spent (with the API's own wait), 503 for
// anything else transient (store down, API failing, deadline).
func (h *handler) busy(w http.ResponseWriter, r *http.Request, err error) int {
	h.log.WarnContext(r.Context(), "webhook delivery not finished; the sender should retry", "err", err)
	status, wait := http.StatusServiceUnavailable, retryAfterDefault
	var ce *cloud.Error
	if errors.As(err, &ce) && ce.Kind == cloud.Throttled {
		status = http.StatusTooManyRequests
		if ce.RetryAfter > 0 {
			wait = ce.RetryAfter
		}
	}
	w.Header().Set("Retry-After", seconds(wait))
	return status
}

// seconds renders d for Retry-After: whole seconds, rounded up, at least 1.
func seconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// routeOff answers a route whose secret is not configured: 404, as if it
// did not exist. The answer goes to whoever asks, unauthenticated, so it
// does not say what would enable the route; the log tells the operator.
func (h *handler) routeOff(w http.ResponseWriter, r *http.Request, route, variable string) {
	h.log.DebugContext(r.Context(), "webhook route is off", "route", route, "enabled_by", variable)
	writeJSON(w, http.StatusNotFound, Response{Error: "not found"})
}

// mediaType is the request's media type, lower case, without parameters.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

// quoteAll quotes each of vs, joined by ", ".
func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}
