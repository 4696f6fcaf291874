package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// The edges below turn what a runtime delivers (an event invocation, a timer
// tick, an HTTP request) into calls of the use cases, and their answers and
// errors into what the runtime expects back. internal/app wires them.

// MaxHTTPBody bounds a CloudEvents HTTP request (Function Compute's own
// limit for an asynchronous invocation is 128 KB; batches come synchronously).
const MaxHTTPBody = 1 << 20

// HTTPTimeout bounds the handling of one CloudEvents HTTP request.
const HTTPTimeout = 20 * time.Second

// Provisioner is the provision use case as the edges drive it.
type Provisioner interface {
	HandleAll(ctx context.Context, in []provision.Input) ([]provision.Result, error)
}

// Ticker is the reconcile use case as the timer edge drives it.
type Ticker interface {
	Tick(ctx context.Context, opt reconcile.Options) (reconcile.Report, error)
}

// RequestReader reads one request's record and its history, for GET
// /requests.
type RequestReader interface {
	Get(ctx context.Context, key string) (store.Request, error)
	History(ctx context.Context, key string) ([]store.HistoryEntry, error)
}

// HistoryEntry is one change of a request's state as GET /requests and
// vpngwctl show it: when, to what state, by whom (provision, webhook,
// reconcile, operator; migration for the state a request had when its
// history began) and why.
type HistoryEntry struct {
	At           time.Time   `json:"At"`
	State        store.State `json:"State"`
	Actor        string      `json:"Actor"`
	Reason       string      `json:"Reason,omitempty"`
	VpnGatewayId string      `json:"VpnGatewayId,omitempty"`
}

// History is a request's history in the read model's form, oldest first.
func History(h []store.HistoryEntry) []HistoryEntry {
	out := make([]HistoryEntry, len(h))
	for i, e := range h {
		out[i] = HistoryEntry{At: e.At, State: e.State, Actor: string(e.Actor), Reason: e.Reason, VpnGatewayId: e.GatewayID}
	}
	return out
}

// ProvisionResponse is what the provision function answers.
type ProvisionResponse struct {
	Results []provision.Result `json:"results"`
}

// ProvisionEvents handles a Function Compute or Lambda event invocation
// carrying one CloudEvent or an array of them. after runs once the requests
// are handled (the outbox's drain), whatever the outcome; nil skips it.
func ProvisionEvents(p Provisioner, after func(context.Context)) Handler {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		items, err := intake.FromPayload(payload)
		var inputs []provision.Input
		if err != nil {
			// Not even an envelope: record it anyway (keyed by its content),
			// announce the rejection, and do not ask for a redelivery that
			// would fail the same way.
			inputs = []provision.Input{{Data: payload, Raw: payload, Err: err}}
		} else {
			// EventBridge delivered these: what it stamped on them is the
			// requester's, and only that: the bus and the rule's route on
			// Function Compute, the AWS account on Lambda.
			inputs = provision.BusInputs(items, busOf(PlatformFrom(ctx)))
		}
		results, err := p.HandleAll(ctx, inputs)
		if after != nil {
			after(ctx)
		}
		return ProvisionResponse{Results: results}, err
	}
}

// busOf is the event bus that delivers to a platform's functions.
func busOf(p Platform) intake.Bus {
	switch p {
	case FunctionCompute:
		return intake.AlibabaBus
	case AWSLambda:
		return intake.AmazonBus
	}
	return intake.AnyBus
}

// HTTPIntake serves CloudEvents over HTTP: the local stack's stand-in for the
// event bus, with the read model of the requests beside it.
type HTTPIntake struct {
	Provision Provisioner
	// After runs once the requests of a POST are handled (the outbox's
	// drain); nil skips it.
	After func(context.Context)
	// Requests answers GET /requests/{source}/{id}.
	Requests RequestReader
	// DeliveriesPerMinute is the rate the abuse-protection handshake grants
	// (0: no limit).
	DeliveriesPerMinute int
	// Webhook, when set, is served under /webhook/, each request with
	// WebhookTimeout as its deadline, as the webhook function's invocation
	// has.
	Webhook        http.Handler
	WebhookTimeout time.Duration
	Log            *slog.Logger
}

// Handler serves CloudEvents over HTTP (binary, structured and batch mode),
// answering as the CloudEvents HTTP binding expects: 202 with the request's
// state, 400 with every validation error, 409 for an id already used for
// other data, 413, 415, and 503 with Retry-After when the store or the API
// cannot take the request now.
func (h HTTPIntake) Handler() http.Handler {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		// A sender waits on the line: bound the work, and hand back 503 with
		// Retry-After rather than hold the connection.
		ctx, cancel := context.WithTimeout(r.Context(), HTTPTimeout)
		defer cancel()
		items, err := intake.FromHTTP(r, MaxHTTPBody)
		if err != nil {
			writeJSON(w, intakeStatus(err), map[string]string{"error": err.Error()})
			return
		}
		// Anyone who reaches this route writes every attribute: it claims
		// no bus, route or account.
		results, err := h.Provision.HandleAll(ctx, provision.Inputs(items, "", ""))
		if h.After != nil {
			h.After(ctx)
		}
		status := ResultsStatus(results, err)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(10))
		}
		writeJSON(w, status, ProvisionResponse{Results: results})
	})
	// The CloudEvents Webhook abuse-protection handshake, for senders that
	// ask before delivering (see intake.Handshake).
	mux.Handle("OPTIONS /{$}", intake.Handshake(h.DeliveriesPerMinute))
	if h.Webhook != nil {
		// The webhook function's routes, for trying them locally. Each
		// request gets the webhook function's deadline, so that it answers
		// as the function would (429 or 503 with Retry-After) instead of
		// retrying the API for as long as it takes.
		mux.Handle("/webhook/", http.StripPrefix("/webhook", withDeadline(h.Webhook, h.WebhookTimeout)))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /requests/{source}/{id}", func(w http.ResponseWriter, r *http.Request) {
		source, id := r.PathValue("source"), r.PathValue("id")
		key := request.IdentityOf(source, id).Key()
		rec, err := h.Requests.Get(r.Context(), key)
		var hist []store.HistoryEntry
		if err == nil {
			hist, err = h.Requests.History(r.Context(), key)
		}
		// The answer names what was looked up, never the store's key or
		// where the store lives; the log has the cause.
		switch {
		case errors.Is(err, store.ErrNotFound):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no request with source %q and id %q: send the same source and id as the request's event, each URL-escaped", source, id)})
			return
		case err != nil:
			log.Error("read a request's state", "source", source, "event_id", id, "err", err.Error())
			w.Header().Set("Retry-After", strconv.Itoa(10))
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the store cannot be read now; try again later"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"Key": rec.Key, "Source": rec.Source, "Id": rec.EventID, "State": rec.State,
			"VpnGatewayId": rec.GatewayID, "OrderId": rec.OrderID, "Attempts": rec.Attempts,
			"LastError": rec.LastError, "CreatedAt": rec.CreatedAt, "UpdatedAt": rec.UpdatedAt,
			"History": History(hist),
		})
	})
	return mux
}

// intakeStatus is the HTTP status of a delivery the intake refused.
func intakeStatus(err error) int {
	var ie *intake.Error
	if errors.As(err, &ie) {
		switch ie.Kind {
		case intake.TooLarge:
			return http.StatusRequestEntityTooLarge
		case intake.UnsupportedMediaType:
			return http.StatusUnsupportedMediaType
		}
	}
	return http.StatusBadRequest
}

// ResultsStatus is the HTTP status of a handled delivery: 503 when it must be
// sent again, 409 when every request failed on an id already used for other
// data, 400 when every request failed, 202 otherwise.
func ResultsStatus(results []provision.Result, err error) int {
	switch {
	case err != nil:
		return http.StatusServiceUnavailable
	case provision.AllFailed(results) && provision.Conflicted(results):
		// An id already used for other data: the sender must choose a new id.
		return http.StatusConflict
	case provision.AllFailed(results):
		return http.StatusBadRequest
	}
	return http.StatusAccepted
}

// withDeadline serves h with a deadline of d on each request, as a
// function's invocation has.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// TimerEvent is a Function Compute timer trigger's event; Payload is the
// trigger's configured payload, here reconcile.Options as JSON.
type TimerEvent struct {
	TriggerTime string `json:"triggerTime"`
	TriggerName string `json:"triggerName"`
	Payload     string `json:"payload"`
}

// ReconcileTimer handles a timer invocation: one reconcile tick bounded by
// the invocation's deadline.
func ReconcileTimer(t Ticker) Handler {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		opts, err := ReconcileOptions(payload)
		if err != nil {
			return nil, err
		}
		return t.Tick(ctx, opts)
	}
}

// ReconcileOptions reads a tick's options from a timer invocation's payload:
// a Function Compute timer event, an Amazon EventBridge scheduled event, or
// nothing (a manual invocation runs with the defaults).
func ReconcileOptions(payload json.RawMessage) (reconcile.Options, error) {
	var opts reconcile.Options
	if len(payload) == 0 || string(payload) == "null" {
		return opts, nil
	}
	// An Amazon EventBridge scheduled event, as a scheduled rule hands it to
	// AWS Lambda: {"detail-type":"Scheduled Event","source":"aws.events",
	// "detail":{}, ...}. Its detail, when not empty, holds the options, as a
	// timer trigger's payload does on Function Compute. The detail-type is
	// the marker; the source differs when a schedule puts its event on a bus.
	var sched struct {
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(payload, &sched) == nil && sched.DetailType == "Scheduled Event" {
		if len(sched.Detail) == 0 || string(sched.Detail) == "null" {
			return opts, nil
		}
		dec := json.NewDecoder(strings.NewReader(string(sched.Detail)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&opts); err != nil {
			return reconcile.Options{}, fmt.Errorf("scheduled event detail %s: %v (want {} or {\"regions\":[\"cn-hangzhou\",...]})", sched.Detail, err)
		}
		return opts, nil
	}
	var ev TimerEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		// Not a timer event (a manual invocation): run with defaults.
		return opts, nil
	}
	if ev.Payload == "" {
		return opts, nil
	}
	dec := json.NewDecoder(strings.NewReader(ev.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&opts); err != nil {
		return opts, fmt.Errorf("timer payload %q: %v (want {\"regions\":[\"cn-hangzhou\",...]})", ev.Payload, err)
	}
	return opts, nil
}
