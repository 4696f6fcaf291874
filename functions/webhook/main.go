// Command webhook is the webhook function: signed CloudEvents, Slack slash
// commands and DingTalk robot messages, behind a Function Compute HTTP
// trigger. It is a function of its own because its payload is the HTTP
// trigger's event, it must answer within a chat platform's few seconds, and
// it alone holds the webhook secrets and faces the internet.
package main

import "github.com/vpngw/vpngw/internal/app"

func main() {
	app.RunFunction("webhook", (*app.App).WebhookHandler, app.WithWebhook())
}
