package ctlsend

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/webhook"
)

// Routes send signs for, by the name --route takes.
const (
	RouteWebhook  = "webhook"
	RouteSlack    = "slack"
	RouteDingTalk = "dingtalk"
)

// DefaultURL is the webhook routes' base on the local stack (`make run`
// serves them under /webhook/ of VPNGW_HTTP_ADDR's default).
const DefaultURL = "http://127.0.0.1:8080/webhook"

// Usage is `vpngwctl send`'s help text.
const Usage = `usage: vpngwctl send --route webhook|slack|dingtalk [flags]

Signs a request as the route verifies it and posts it to <url><path>: POST /
for webhook, /slack, /dingtalk. Prints the answer's status and body; exit
status 0 for a 2xx answer, 1 otherwise, 2 for a usage error.

  --url URL          the webhook's base URL (default ` + DefaultURL + `,
                     the local stack's; a deployed function's own URL)
webhook (POST /: X-Vpngw-Timestamp, X-Vpngw-Signature v1=...):
  --file PATH        the CloudEvent(s) to send: one event, a JSON array
                     (batch mode), or - for standard input
  --data JSON        the same, given inline
  --key-name NAME    sign with the key of VPNGW_WEBHOOK_KEYS named NAME;
                     without it, with VPNGW_WEBHOOK_SECRET
slack (POST /slack: X-Slack-Request-Timestamp, X-Slack-Signature v0=...),
signed with VPNGW_SLACK_SIGNING_SECRET; a slash command's form:
  --text TEXT        the command (default help)
  --command NAME     default /vpngw
  --team ID          team_id (default T0VPNGWCTL); the source is slack:<team>
  --user ID          user_id (default U0VPNGWCTL)
  --trigger ID       trigger_id, the request's id (default a new one)
dingtalk (POST /dingtalk: timestamp in milliseconds, sign), signed with
VPNGW_DINGTALK_APP_SECRET; a robot message:
  --text TEXT        the command (default help)
  --conversation ID  conversationId (default cidVpngwctl); the source is
                     dingtalk:<conversation>
  --user ID          senderStaffId (default vpngwctl)
  --msg-id ID        msgId, the request's id (default a new one)
`

// Options is one send.
type Options struct {
	Route string
	// URL is the webhook's base; the route's path is added.
	URL string
	// Body is POST /'s CloudEvent(s).
	Body []byte
	// KeyName picks a key of VPNGW_WEBHOOK_KEYS for POST /.
	KeyName string
	// Chat command fields.
	Text, Command, Team, User, ID, Conversation string
}

// Main runs `vpngwctl send` with args (after "send") and returns the exit
// status. Secrets come from getenv.
func Main(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := ParseArgs(args, stdin)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "vpngwctl send: %v\n\n", err)
		}
		fmt.Fprint(stderr, Usage)
		return 2
	}
	req, err := NewRequest(ctx, o, getenv, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "vpngwctl send: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "vpngwctl send: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(stdout, "%s %s\n%s", req.URL, resp.Status, body)
	if len(body) > 0 && body[len(body)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	if resp.StatusCode/100 != 2 {
		return 1
	}
	return 0
}

// ParseArgs reads send's flags.
func ParseArgs(args []string, stdin io.Reader) (Options, error) {
	var o Options
	var file, data string
	fs := flag.NewFlagSet("vpngwctl send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Route, "route", "", "")
	fs.StringVar(&o.URL, "url", DefaultURL, "")
	fs.StringVar(&file, "file", "", "")
	fs.StringVar(&data, "data", "", "")
	fs.StringVar(&o.KeyName, "key-name", "", "")
	fs.StringVar(&o.Text, "text", "help", "")
	fs.StringVar(&o.Command, "command", "/vpngw", "")
	fs.StringVar(&o.Team, "team", "T0VPNGWCTL", "")
	fs.StringVar(&o.User, "user", "", "")
	fs.StringVar(&o.ID, "trigger", "", "")
	fs.StringVar(&o.ID, "msg-id", "", "")
	fs.StringVar(&o.Conversation, "conversation", "cidVpngwctl", "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch o.Route {
	case RouteWebhook:
		switch {
		case file != "" && data != "":
			return o, errors.New("--file and --data both given: give one")
		case data != "":
			o.Body = []byte(data)
		case file == "-":
			b, err := io.ReadAll(stdin)
			if err != nil {
				return o, fmt.Errorf("read standard input: %w", err)
			}
			o.Body = b
		case file != "":
			b, err := os.ReadFile(file)
			if err != nil {
				return o, fmt.Errorf("--file: %w", err)
			}
			o.Body = b
		default:
			return o, errors.New("--route webhook sends a CloudEvent: give --file or --data")
		}
	case RouteSlack, RouteDingTalk:
		if file != "" || data != "" {
			return o, fmt.Errorf("--route %s sends a chat command: give --text, not --file or --data", o.Route)
		}
		if o.KeyName != "" {
			return o, errors.New("--key-name names a key of POST / (--route webhook)")
		}
	case "":
		return o, errors.New("--route is required: webhook, slack or dingtalk")
	default:
		return o, fmt.Errorf("--route %q: want webhook, slack or dingtalk", o.Route)
	}
	if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, fmt.Errorf("--url %q: want http(s)://host[:port][/path], the webhook's base URL", o.URL)
	}
	return o, nil
}

// NewRequest builds the signed request of o at time now, with the secret
// the route verifies with, read from getenv.
func NewRequest(ctx context.Context, o Options, getenv func(string) string, now time.Time) (*http.Request, error) {
	base := strings.TrimSuffix(o.URL, "/")
	id := o.ID
	if id == "" {
		id = "vpngwctl-" + strconv.FormatInt(now.UnixNano(), 36)
	}
	switch o.Route {
	case RouteWebhook:
		secret, err := webhookSecret(o.KeyName, getenv)
		if err != nil {
			return nil, err
		}
		ct := "application/cloudevents+json"
		if t := bytes.TrimSpace(o.Body); len(t) > 0 && t[0] == '[' {
			ct = "application/cloudevents-batch+json"
		}
		ts, sig := webhook.Sign(secret, now, o.Body)
		return post(ctx, base+"/", ct, o.Body, webhook.HeaderTimestamp, ts, webhook.HeaderSignature, sig)
	case RouteSlack:
		secret, err := need(getenv, "VPNGW_SLACK_SIGNING_SECRET", "the Slack app's signing secret, as the route has it")
		if err != nil {
			return nil, err
		}
		user := cmp.Or(o.User, "U0VPNGWCTL")
		body := []byte(url.Values{
			"command": {o.Command}, "text": {o.Text}, "team_id": {o.Team},
			"user_id": {user}, "user_name": {"vpngwctl"}, "trigger_id": {id},
		}.Encode())
		ts, sig := webhook.SignSlack(secret, now, body)
		return post(ctx, base+"/slack", "application/x-www-form-urlencoded", body, webhook.HeaderSlackTimestamp, ts, webhook.HeaderSlackSignature, sig)
	case RouteDingTalk:
		secret, err := need(getenv, "VPNGW_DINGTALK_APP_SECRET", "the robot's AppSecret, as the route has it")
		if err != nil {
			return nil, err
		}
		user := cmp.Or(o.User, "vpngwctl")
		var msg webhook.DingTalkMessage
		msg.MsgType, msg.Text.Content, msg.MsgID, msg.ConversationID, msg.SenderStaffID = "text", o.Text, id, o.Conversation, user
		body, err := json.Marshal(msg)
		if err != nil {
			return nil, err
		}
		ts, sign := webhook.SignDingTalk(secret, now)
		return post(ctx, base+"/dingtalk", "application/json", body, webhook.HeaderDingTalkTimestamp, ts, webhook.HeaderDingTalkSign, sign)
	}
	return nil, fmt.Errorf("--route %q: want webhook, slack or dingtalk", o.Route)
}

// post is a POST of body to u with its content type and the signature
// headers, given as name, value pairs.
func post(ctx context.Context, u, contentType string, body []byte, headers ...string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req, nil
}

// webhookSecret is the secret POST / is signed with: the named key's of
// VPNGW_WEBHOOK_KEYS, or VPNGW_WEBHOOK_SECRET.
func webhookSecret(keyName string, getenv func(string) string) (string, error) {
	if keyName == "" {
		return need(getenv, "VPNGW_WEBHOOK_SECRET", "or name a key of "+webhook.EnvKeys+" with --key-name")
	}
	keys, err := webhook.ParseKeys(getenv(webhook.EnvKeys))
	if err != nil {
		return "", err
	}
	var names []string
	for _, k := range keys {
		if k.Name == keyName {
			if k.Secret == "" {
				return "", fmt.Errorf("%s: key %q has no secret", webhook.EnvKeys, keyName)
			}
			return k.Secret, nil
		}
		names = append(names, k.Name)
	}
	if len(names) == 0 {
		return "", fmt.Errorf("--key-name %s: %s is not set (export the keys the webhook has)", keyName, webhook.EnvKeys)
	}
	return "", fmt.Errorf("--key-name %s: %s has no key of that name; it has %s", keyName, webhook.EnvKeys, strings.Join(names, ", "))
}

func need(getenv func(string) string, name, what string) (string, error) {
	if v := getenv(name); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s is not set: export it (%s)", name, what)
}
