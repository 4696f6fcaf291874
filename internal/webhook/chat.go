package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// Identity sources of chat requests: the platform and its workspace or
// conversation, so that a request is named the same however often the
// platform delivers it.
const (
	SourcePrefixSlack    = "slack:"
	SourcePrefixDingTalk = "dingtalk:"
)

// chatMessage is one verified command from a chat platform.
type chatMessage struct {
	identity request.Identity
	caller   string
	user     string // the platform's id of the user, for the policy
	text     string
	// reply is where the request's outcomes are posted; nil when the
	// platform gave no address.
	reply *store.ChatReply
}

// answer is what the bot posts back.
type answer struct {
	text string
	// preformatted: the text is laid out in columns (help) and is best shown
	// in a fixed-width font.
	preformatted bool
}

// chat runs one command: help is answered here, create and check go to the
// Provisioner as one request, and the answer says what became of it.
func (h *handler) chat(ctx context.Context, m chatMessage) answer {
	cmd, err := parseCommand(m.text)
	if err != nil {
		var ce *commandError
		if errors.As(err, &ce) {
			return answer{text: "Could not read the command:\n" + bullets(ce.problems) + "\nSend help for the grammar."}
		}
		return answer{text: "Could not read the command: " + err.Error()}
	}
	switch cmd.verb {
	case verbHelp:
		return answer{text: HelpText, preformatted: true}
	case verbStatus:
		return h.statusOf(ctx, m, cmd.ref)
	}
	h.saveReply(ctx, m)
	in := provision.Input{
		Identity: m.identity, Type: events.TypeRequested, Data: cmd.data,
		Caller: m.caller, ChatUser: m.user, DryRun: cmd.verb == verbCheck,
	}
	if cmd.verb == verbDelete {
		data, known := h.deleteData(ctx, cmd)
		if !known {
			return answer{text: fmt.Sprintf("Request %s was refused (%s): vpngw has no record of creating %s, and deletes only gateways it created. "+
				"Check the id with status; if vpngw did create it, add region=<RegionId>.", m.identity.EventID, events.CodeNotCreatedByVpngw, cmd.ref)}
		}
		in.Type, in.Data = events.TypeDeleteRequested, data
	}
	// The chat's whole budget is shorter than the reserve provisioning
	// keeps before a function's deadline: give it one that fits, so that
	// the call is made and the answer can name the gateway.
	results, err := h.p.HandleAll(provision.WithDeadlineReserve(ctx, chatReserve(h.cfg.ChatTimeout)), []provision.Input{in})
	if err != nil {
		h.log.WarnContext(ctx, "chat command not finished", "caller", m.caller, "source", m.identity.Source, "event_id", m.identity.EventID, "err", err)
	}
	var res provision.Result
	if len(results) > 0 {
		res = results[0]
	}
	return answer{text: describe(m.identity.EventID, cmd.verb, res, err)}
}

// GatewayRecords finds the create request that made a gateway: the store
// does (store.Store.CreatedGateway). A delete command that names no region
// takes the one vpngw recorded.
type GatewayRecords interface {
	CreatedGateway(ctx context.Context, gatewayID string) (store.Request, error)
}

// deleteData is the data of the delete request a delete command makes:
// the gateway, in the region the command gave or the one vpngw recorded
// creating it in. known is false when the command gave no region and the
// store holds no record of creating the gateway: there is nothing vpngw
// would delete.
func (h *handler) deleteData(ctx context.Context, cmd command) (data []byte, known bool) {
	region := cmd.region
	if g, ok := h.status.(GatewayRecords); ok && region == "" {
		r, err := g.CreatedGateway(ctx, cmd.ref)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false
		}
		if err == nil {
			region = r.RegionID
		}
	}
	b, _ := json.Marshal(map[string]string{"RegionId": region, "VpnGatewayId": cmd.ref}) // strings always marshal
	return b, true
}

// chatReserve is the reserve of a chat command's budget: a CreateVpnGateway
// call starts only with at least this much of the budget left (1 s of the
// default 2.5 s: the API answers a create well within it), and a quarter of
// it is kept after the call to record the outcome and answer.
func chatReserve(budget time.Duration) time.Duration { return budget * 2 / 5 }

// describe tells the chat user what became of their request: the gateway,
// or every reason it was refused, one per line.
// verb is the command sent: a dry run answers a create differently from a
// check.
func describe(id, verb string, r provision.Result, err error) string {
	switch {
	case verb == verbDelete && r.State == store.Pending:
		return fmt.Sprintf("VPN gateway %s is being deleted (request %s); the outcome is announced as io.vpngw.gateway.deleted or io.vpngw.gateway.failed.", r.VpnGatewayId, id)
	case verb == verbDelete && r.State == store.Deleted:
		return fmt.Sprintf("VPN gateway %s is deleted (request %s).", r.VpnGatewayId, id)
	case verb == verbDelete && r.State == store.DryRun:
		return fmt.Sprintf("Request %s may delete VPN gateway %s, but the operator's policy makes it a dry run: nothing was deleted.", id, r.VpnGatewayId)
	}
	switch r.State {
	case store.Pending:
		return fmt.Sprintf("VPN gateway %s is being created (request %s). It is usually active within minutes; "+
			"the outcome is announced as io.vpngw.gateway.active or io.vpngw.gateway.failed.", r.VpnGatewayId, id)
	case store.Active:
		return fmt.Sprintf("VPN gateway %s is active (request %s).", r.VpnGatewayId, id)
	case store.DryRun:
		if verb != verbCreate {
			return fmt.Sprintf("Request %s passes validation and the policy. Nothing was created: send the same keys with create to create it.", id)
		}
		// The user asked to create: the operator's policy made it a dry
		// run, and sending it again would make it one again.
		return fmt.Sprintf("Request %s passes validation, but the operator's policy makes it a dry run (dryRun: true): nothing was created, "+
			"and sending it again will not create it. Ask the operator to turn the dry run off for it.", id)
	case store.Failed:
		var b strings.Builder
		fmt.Fprintf(&b, "Request %s was refused", id)
		if r.Code != "" {
			b.WriteString(" (" + r.Code + ")")
		}
		if len(r.Errors) > 0 {
			b.WriteString(":")
			for _, fe := range r.Errors {
				b.WriteString("\n• " + fe.Message)
			}
			return b.String()
		}
		if r.Message != "" {
			b.WriteString(": " + r.Message)
		}
		return b.String()
	case store.Received:
		return fmt.Sprintf("Request %s is accepted and recorded, and its gateway is being created: the API did not answer "+
			"within a chat answer's time, so it goes on without you (taken up again within minutes); the outcome is announced when it settles.", id)
	case "":
		if err != nil {
			return fmt.Sprintf("Request %s could not be confirmed now: the store or the API is busy. "+
				"It may still go ahead: wait for its outcome before you send it again.", id)
		}
		return fmt.Sprintf("Request %s: no answer.", id)
	}
	s := fmt.Sprintf("Request %s is %s", id, r.State)
	if r.VpnGatewayId != "" {
		s += " (VPN gateway " + r.VpnGatewayId + ")"
	}
	return s + "."
}

func bullets(lines []string) string {
	return "• " + strings.Join(lines, "\n• ")
}

// slackAnswer is a slash command's immediate response: shown only to the
// user who typed the command.
type slackAnswer struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// slack serves POST /slack: a Slack slash command, answered with 200 and the
// outcome as text, as Slack expects (it shows anything else as an error).
func (h *handler) slack(w http.ResponseWriter, r *http.Request) {
	if h.cfg.SlackSigningSecret == "" {
		h.routeOff(w, r, "POST /slack", "VPNGW_SLACK_SIGNING_SECRET")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ChatTimeout)
	defer cancel()
	body, ok := h.authenticate(ctx, w, r, CallerSlack, func(body []byte) (verified, error) {
		return verifySlack(r.Header, body, []byte(h.cfg.SlackSigningSecret), h.now(), h.cfg.MaxSkew)
	})
	if !ok {
		return
	}
	if mt := mediaType(r); mt != "application/x-www-form-urlencoded" {
		writeJSON(w, http.StatusUnsupportedMediaType, Response{Error: fmt.Sprintf("Content-Type %q: a slash command is application/x-www-form-urlencoded", r.Header.Get("Content-Type"))})
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, Response{Error: "the form body is malformed: " + err.Error()})
		return
	}
	if form.Get("ssl_check") == "1" {
		// Slack checking the certificate: nothing to run.
		w.WriteHeader(http.StatusOK)
		return
	}
	team, trigger, user := form.Get("team_id"), form.Get("trigger_id"), form.Get("user_id")
	if missing := missingFields("team_id", team, "trigger_id", trigger, "user_id", user); missing != "" {
		writeJSON(w, http.StatusBadRequest, Response{Error: "not a slash command: no " + missing})
		return
	}
	a := h.chat(ctx, chatMessage{
		// A slash command's trigger_id is unique per invocation, so the
		// request is named by it and the workspace.
		identity: request.Identity{Source: SourcePrefixSlack + team, EventID: trigger, Subject: user},
		caller:   CallerSlack,
		user:     user,
		text:     slackUnescape(form.Get("text")),
		reply:    slackReply(form.Get("response_url"), form.Get("channel_id"), h.now()),
	})
	text := slackEscape(a.text)
	if a.preformatted {
		text = "```\n" + text + "\n```"
	}
	writeJSON(w, http.StatusOK, slackAnswer{ResponseType: "ephemeral", Text: text})
}

// slackUnescape undoes the escaping Slack applies to the text it sends.
func slackUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// slackEscape escapes what Slack would read as markup: values echoed back
// from the user are shown as typed.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// DingTalkMessage is the part of a DingTalk outgoing robot message vpngw
// reads (POST /dingtalk's body); vpngwctl send writes it.
type DingTalkMessage struct {
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
	MsgID          string `json:"msgId"`
	ConversationID string `json:"conversationId"`
	SenderID       string `json:"senderId"`
	SenderStaffID  string `json:"senderStaffId"`
	// SessionWebhook takes replies to the conversation until
	// SessionWebhookExpiredTime (milliseconds since the epoch).
	SessionWebhook            string `json:"sessionWebhook,omitempty"`
	SessionWebhookExpiredTime int64  `json:"sessionWebhookExpiredTime,omitempty"`
}

// dingTalkAnswer is a text reply the robot posts in the conversation.
type dingTalkAnswer struct {
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
}

// dingTalk serves POST /dingtalk: a message to a DingTalk outgoing robot,
// answered with 200 and a text message.
func (h *handler) dingTalk(w http.ResponseWriter, r *http.Request) {
	if h.cfg.DingTalkAppSecret == "" {
		h.routeOff(w, r, "POST /dingtalk", "VPNGW_DINGTALK_APP_SECRET")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ChatTimeout)
	defer cancel()
	body, ok := h.authenticate(ctx, w, r, CallerDingTalk, func([]byte) (verified, error) {
		return verifyDingTalk(r.Header, []byte(h.cfg.DingTalkAppSecret), h.now(), h.cfg.MaxSkew)
	})
	if !ok {
		return
	}
	if mt := mediaType(r); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, Response{Error: fmt.Sprintf("Content-Type %q: a robot message is application/json", r.Header.Get("Content-Type"))})
		return
	}
	var m DingTalkMessage
	if err := json.Unmarshal(body, &m); err != nil {
		writeJSON(w, http.StatusBadRequest, Response{Error: "the message is not a JSON object: " + err.Error()})
		return
	}
	user, err := dingTalkUser(m)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, Response{Error: err.Error()})
		return
	}
	if missing := missingFields("msgId", m.MsgID, "conversationId", m.ConversationID, "senderStaffId or senderId", user); missing != "" {
		writeJSON(w, http.StatusBadRequest, Response{Error: "not a robot message: no " + missing})
		return
	}
	a := answer{text: "Send the command as text; help lists the commands."}
	if m.MsgType == "" || m.MsgType == "text" {
		a = h.chat(ctx, chatMessage{
			// A platform's retry of one message keeps its msgId, and so is
			// the same request.
			identity: request.Identity{Source: SourcePrefixDingTalk + m.ConversationID, EventID: m.MsgID, Subject: user},
			caller:   CallerDingTalk,
			user:     user,
			text:     m.Text.Content,
			reply:    dingTalkReply(m.SessionWebhook, m.SessionWebhookExpiredTime, m.ConversationID),
		})
	}
	var out dingTalkAnswer
	out.MsgType = "text"
	out.Text.Content = a.text
	writeJSON(w, http.StatusOK, out)
}

// DingTalkSenderPrefix starts the chat user of a DingTalk sender known only
// by its senderId (someone outside the robot's organisation has no staff
// id): staff ids are the organisation's to choose and sender ids
// DingTalk's, so the two are kept apart, and one can never be taken for
// the other in status, in the policy's chatUser or in the requester tag.
const DingTalkSenderPrefix = "sender:"

// dingTalkUser is the chat user of a DingTalk message: its staff id, or
// DingTalkSenderPrefix and its sender id when it has no staff id. A staff
// id that starts with the prefix is refused, so that no staff id can be
// spelled as a sender's user.
func dingTalkUser(m DingTalkMessage) (string, error) {
	if m.SenderStaffID != "" {
		if strings.HasPrefix(m.SenderStaffID, DingTalkSenderPrefix) {
			return "", fmt.Errorf("senderStaffId starts with %q, which vpngw keeps for senders known only by their senderId", DingTalkSenderPrefix)
		}
		return m.SenderStaffID, nil
	}
	if strings.TrimSpace(m.SenderID) == "" {
		return "", nil
	}
	return DingTalkSenderPrefix + m.SenderID, nil
}

// missingFields names the empty ones of name, value pairs.
func missingFields(pairs ...string) string {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			missing = append(missing, pairs[i])
		}
	}
	return strings.Join(missing, ", ")
}
