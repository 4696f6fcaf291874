package webhook

// Route is one of the webhook's routes, whether it is on, and the variable
// that turns it on.
type Route struct {
	Path     string // "/", "/slack" or "/dingtalk"
	What     string
	On       bool
	Variable string
}

// Routes lists the webhook's routes as cfg configures them: a route without
// its secret answers 404.
func (c Config) Routes() []Route {
	return []Route{
		{Path: "/", What: "signed CloudEvents", On: c.Secret != "" || len(c.Keys) > 0, Variable: EnvKeys + " or VPNGW_WEBHOOK_SECRET"},
		{Path: "/slack", What: "Slack slash commands", On: c.SlackSigningSecret != "", Variable: "VPNGW_SLACK_SIGNING_SECRET"},
		{Path: "/dingtalk", What: "DingTalk robot messages", On: c.DingTalkAppSecret != "", Variable: "VPNGW_DINGTALK_APP_SECRET"},
	}
}
