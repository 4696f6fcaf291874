package app

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/runtime"
)

// LocalWebhookTimeout is the deadline of one request to the local stack's
// /webhook/ routes: the webhook function's timeout in s.yaml (120 s). A
// variable, so that tests can shorten it.
var LocalWebhookTimeout = 120 * time.Second

// ProvisionResponse is what the provision function answers.
type ProvisionResponse = runtime.ProvisionResponse

// ProvisionHandler handles a Function Compute or Lambda event invocation
// carrying one CloudEvent or an array of them (runtime.ProvisionEvents).
func (a *App) ProvisionHandler() runtime.Handler {
	return runtime.ProvisionEvents(a.Provision, a.drain)
}

// HTTPHandler serves CloudEvents over HTTP, the read model of the requests
// and, when enabled, the webhook's routes (runtime.HTTPIntake).
func (a *App) HTTPHandler() http.Handler {
	return runtime.HTTPIntake{
		Provision: a.Provision, After: a.drain, Requests: a.Store,
		DeliveriesPerMinute: a.DeliveriesPerMinute(),
		Webhook:             a.Webhook, WebhookTimeout: LocalWebhookTimeout,
		Log: a.Log,
	}.Handler()
}

// DeliveriesPerMinute is the rate the CloudEvents Webhook handshake grants
// senders: CreateVpnGateway's rate limit per region (VPNGW_API_RATES), in
// calls per minute, as every delivery asks for at least one gateway; 0 (no
// limit) when that rate is unlimited.
func (a *App) DeliveriesPerMinute() int {
	return deliveriesPerMinute(a.Config.APIRates)
}

func deliveriesPerMinute(rates map[string]float64) int {
	perSecond := rates[vpcclient.ActionCreateVpnGateway]
	if perSecond <= 0 {
		return 0
	}
	return max(int(math.Floor(perSecond*60)), 1)
}

// ReconcileHandler handles a timer invocation: one reconcile tick bounded by
// the invocation's deadline (runtime.ReconcileTimer).
func (a *App) ReconcileHandler() runtime.Handler {
	return runtime.ReconcileTimer(a.Reconcile)
}

// WebhookHandler serves the webhook function's Function Compute HTTP
// trigger: signed CloudEvents, Slack slash commands, DingTalk robot messages.
func (a *App) WebhookHandler() runtime.Handler {
	if a.Webhook == nil {
		return func(context.Context, json.RawMessage) (any, error) {
			return nil, errors.New("no webhook route is enabled: set VPNGW_WEBHOOK_KEYS, VPNGW_SLACK_SIGNING_SECRET or VPNGW_DINGTALK_APP_SECRET")
		}
	}
	return runtime.HTTPTrigger(a.Webhook)
}
