// Package webhook is vpngw's HTTP intake for signed webhooks and chat
// commands. internal/app builds its handler with New; functions/webhook
// serves it behind a Function Compute HTTP trigger (runtime.HTTPTrigger), and
// the local stack may mount it beside its own endpoint.
//
// # Routes
//
//   - POST / takes CloudEvents over HTTP in binary, structured or batch mode
//     (internal/intake), signed with one of the named keys of
//     VPNGW_WEBHOOK_KEYS (or the legacy VPNGW_WEBHOOK_SECRET). Each key is
//     bound to the sources it may claim: a delivery claiming another source
//     is refused whole with 403 and nothing of it is recorded. The key's
//     name goes to the policy as provision.Input.Key.
//   - OPTIONS / answers the CloudEvents Webhook abuse-protection handshake
//     (intake.Handshake) for POST /, unsigned, consenting to every origin at
//     the rate WithAllowedRate sets.
//   - POST /slack takes Slack slash commands, verified with the app's
//     signing secret VPNGW_SLACK_SIGNING_SECRET.
//   - POST /dingtalk takes messages to a DingTalk outgoing robot, verified
//     with the robot's AppSecret VPNGW_DINGTALK_APP_SECRET.
//
// A route whose secret is not set answers a bare 404, as if it did not
// exist: the answer goes to anyone, so it does not name the variable that
// would enable the route (a debug-level log line does).
//
// # Order of work
//
// The body is read up to the size limit (413 beyond it: nothing is parsed or
// recorded before that answer). The request is then authenticated, before
// any of it is parsed: a bad, stale, future or replayed signature answers
// 401 and neither the store's requests nor the replay guard learn anything
// from it; its log line is rate-bounded (a burst, then one every few
// seconds, the next line counting those held back), so a flood of unsigned
// requests cannot flood the log. Only an authentic request is then parsed (415, 400) and handed to
// the Provisioner.
//
// # POST / signatures
//
// The sender sets X-Vpngw-Timestamp to the current Unix time in seconds and
// X-Vpngw-Signature to "v1=" followed by the lowercase hex HMAC-SHA256, keyed
// with the secret, of the timestamp, a ".", and the exact body bytes. Several
// comma-separated v1 values are accepted, and VPNGW_WEBHOOK_SECRET_PREVIOUS
// is accepted beside VPNGW_WEBHOOK_SECRET, so that a secret can be rotated
// without a window where one side refuses the other. Values of other
// versions (v2=...) are skipped. Signatures are compared in constant time.
//
// The signature covers the body, not the headers. In structured and batch
// mode the whole event is in the body; in binary mode the attributes (ce-id,
// ce-source, ce-type) and the Content-Type are headers, which only TLS and
// the replay guard protect. Send structured mode when the attributes must be
// signed too.
//
// # Slack
//
// As Slack documents it: X-Slack-Signature is "v0=" and the hex HMAC-SHA256,
// keyed with the signing secret, of "v0:" + X-Slack-Request-Timestamp + ":" +
// the body. An authentic command is answered with 200 and
// {"response_type":"ephemeral","text":...} whatever became of it: Slack
// shows any other status to the user as a bare failure. Slack must have the
// answer within 3 s, so the work behind a command is bounded
// by Config.ChatTimeout, with a provisioning reserve that fits it
// (provision.WithDeadlineReserve, two fifths of the budget): the
// CreateVpnGateway call is made and its gateway named in the answer when the
// API answers in time. A request that takes longer is left to finish
// without the chat (it is recorded; the reconcile function re-drives it).
//
// # DingTalk
//
// As DingTalk documents it for outgoing robots: the header timestamp is Unix
// milliseconds, and sign is the base64 HMAC-SHA256, keyed with the AppSecret,
// of timestamp + "\n" + AppSecret. DingTalk allows an hour of skew; vpngw
// keeps to Config.MaxSkew (5 minutes by default), which DingTalk's own
// clock easily meets.
//
// DingTalk's sign does not cover the body: whoever sees one request's
// headers can send another body with them while the timestamp is fresh.
// Two things limit that. The replay guard takes each timestamp (and so each
// sign) once, so the headers of a request that arrived are worth nothing
// afterwards; and the skew bounds how long headers that never arrived stay
// usable. Serve the route over HTTPS only, and keep the skew short; since
// conversationId and senderStaffId are in the unsigned body, the operator's
// policy should pin DingTalk rules to the conversations' sources and not
// take the chat user as proof of who typed the command. One
// consequence: two messages DingTalk signs in the same millisecond are one
// too many, and the second is refused as replayed.
//
// # Replays
//
// A verified request leaves a key with the ReplayGuard (sqlstore.Store's
// FirstUse, shared by every instance) until a second after its timestamp is
// refused as stale (a timestamp exactly MaxSkew away is still accepted, so
// the key must outlive that instant), and the timestamp is checked again
// after the guard answered, so that time spent in the guard opens no gap.
// The key is, for POST / and Slack, a hash of the signed content (so the
// same content under a second, rotated secret is still the same request),
// for DingTalk the timestamp. A second use answers 401. Senders must sign
// every attempt afresh, with a new timestamp; a retried request is still
// the same request to vpngw, because a request is its CloudEvent's source
// and id (for chat: the workspace or conversation, and the platform's
// trigger_id or msgId), never its signature.
//
// # Answers of POST /
//
// As the CloudEvents HTTP binding expects, with a JSON body (Response): 202
// naming every request and its state; 400 when every request was refused,
// each with all of its validation errors, or when the delivery is not
// CloudEvents; 401; 404 when the route is off; 413; 415; 429 with Retry-After
// when the VPC API throttled the account (the API's own wait, rounded up to
// seconds); 503 with Retry-After when the store, the replay guard or the API
// could not take the request now.
//
// # Chat commands
//
// HelpText is the grammar: create, check (a dry run) and help, with short
// keys or the API's own parameter names. A chat request is named by its
// platform (Source "slack:<team_id>" or "dingtalk:<conversationId>", ID the
// trigger_id or msgId, Subject the user) and carries the route as Caller and
// the user's id as ChatUser for the policy. Every route sets its Caller
// (webhook, slack, dingtalk), and only policy rules that name it match: a
// rule without a caller is for the event bus alone.
package webhook
