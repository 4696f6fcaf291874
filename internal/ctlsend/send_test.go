package ctlsend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/ctlsend"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/webhook"
)

const (
	ciSecret       = "ci-key-secret-0123456789abcdef"
	legacySecret   = "legacy-webhook-secret-0123456789"
	slackSecret    = "slack-signing-secret-0123456789ab"
	dingTalkSecret = "dingtalk-app-secret-0123456789abcdef"
)

// route is a real webhook handler with every route on, recording what it
// hands the provision use case.
type route struct {
	url string
	mu  sync.Mutex
	got []provision.Input
}

// firstUses takes every request as new: replays are the webhook's tests'
// concern, and each send signs afresh.
type firstUses struct{}

func (firstUses) FirstUse(context.Context, string, time.Time) (bool, error) { return true, nil }

func newRoute(t *testing.T) *route {
	t.Helper()
	r := &route{}
	p := webhook.ProvisionerFunc(func(_ context.Context, in []provision.Input) ([]provision.Result, error) {
		r.mu.Lock()
		r.got = append(r.got, in...)
		r.mu.Unlock()
		out := make([]provision.Result, len(in))
		for i, x := range in {
			out[i] = provision.Result{Source: x.Identity.Source, EventID: x.Identity.EventID, State: store.Pending, VpnGatewayId: "vpn-bp1ctlsend000001"}
		}
		return out, nil
	})
	h, err := webhook.New(webhook.Config{
		Keys:   []webhook.Key{{Name: "ci", Secret: ciSecret, Sources: []string{"https://ci.example.com/*"}}},
		Secret: legacySecret, SecretSources: []string{"*"},
		SlackSigningSecret: slackSecret, DingTalkAppSecret: dingTalkSecret,
	}, p, firstUses{}, webhook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *route) inputs() []provision.Input {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]provision.Input(nil), r.got...)
}

const event = `{"specversion":"1.0","id":"ctl-0001","source":"https://ci.example.com/platform","type":"io.vpngw.gateway.requested",
"datacontenttype":"application/json","data":{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1vpngwdemo0000001","Bandwidth":10}}`

func env(extra map[string]string) func(string) string {
	m := map[string]string{
		"VPNGW_WEBHOOK_KEYS":         `[{"name":"ci","secret":"` + ciSecret + `","sources":["https://ci.example.com/*"]}]`,
		"VPNGW_WEBHOOK_SECRET":       legacySecret,
		"VPNGW_SLACK_SIGNING_SECRET": slackSecret,
		"VPNGW_DINGTALK_APP_SECRET":  dingTalkSecret,
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// vpngwctl send signs each route's request as the route verifies it: the
// real handler accepts it and hands the provision use case the request,
// with the caller (and key) the route authenticated. Signed with a wrong
// secret, each is refused 401 and nothing reaches provisioning.
func TestSendIsAcceptedByEachRoute(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []string
		status string
		check  func(t *testing.T, in provision.Input)
		wrong  map[string]string
	}{
		{"webhook, named key", []string{"--route", "webhook", "--key-name", "ci", "--data", event}, "202 Accepted",
			func(t *testing.T, in provision.Input) {
				if in.Caller != webhook.CallerWebhook || in.Key != "ci" || in.Identity.EventID != "ctl-0001" {
					t.Errorf("webhook: %+v", in)
				}
			},
			map[string]string{"VPNGW_WEBHOOK_KEYS": `[{"name":"ci","secret":"not-the-ci-secret-at-all-000000","sources":["*"]}]`}},
		{"webhook, legacy secret", []string{"--route", "webhook", "--data", strings.Replace(event, "ctl-0001", "ctl-0002", 1)}, "202 Accepted",
			func(t *testing.T, in provision.Input) {
				if in.Caller != webhook.CallerWebhook || in.Key != "" || in.Identity.EventID != "ctl-0002" {
					t.Errorf("webhook: %+v", in)
				}
			},
			map[string]string{"VPNGW_WEBHOOK_SECRET": "not-the-webhook-secret-000000000"}},
		{"slack", []string{"--route", "slack", "--team", "T0TEAM01", "--user", "U0USER0001", "--trigger", "trig-1", "--text", "create region=cn-hangzhou vpc=vpc-bp1vpngwdemo0000001 bandwidth=10"}, "200 OK",
			func(t *testing.T, in provision.Input) {
				if in.Caller != webhook.CallerSlack || in.Identity.Source != "slack:T0TEAM01" || in.Identity.EventID != "trig-1" || in.ChatUser != "U0USER0001" ||
					!strings.Contains(string(in.Data), `"VpcId":"vpc-bp1vpngwdemo0000001"`) {
					t.Errorf("slack: %+v %s", in, in.Data)
				}
			},
			map[string]string{"VPNGW_SLACK_SIGNING_SECRET": "not-the-slack-secret-00000000000"}},
		{"dingtalk", []string{"--route", "dingtalk", "--conversation", "cidNetops01==", "--user", "staff-1", "--msg-id", "msg-1", "--text", "check region=cn-hangzhou vpc=vpc-bp1vpngwdemo0000001 bandwidth=10"}, "200 OK",
			func(t *testing.T, in provision.Input) {
				if in.Caller != webhook.CallerDingTalk || in.Identity.Source != "dingtalk:cidNetops01==" || in.Identity.EventID != "msg-1" || in.ChatUser != "staff-1" || !in.DryRun {
					t.Errorf("dingtalk: %+v", in)
				}
			},
			map[string]string{"VPNGW_DINGTALK_APP_SECRET": "not-the-dingtalk-secret-000000000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRoute(t)
			var out, errOut bytes.Buffer
			args := append([]string{"--url", r.url}, c.args...)
			if code := ctlsend.Main(context.Background(), args, env(nil), nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), c.status) {
				t.Fatalf("exit %d, out %s, err %s; want 0 and %s", code, out.String(), errOut.String(), c.status)
			}
			got := r.inputs()
			if len(got) != 1 {
				t.Fatalf("the route handed %d requests to provisioning, want 1", len(got))
			}
			c.check(t, got[0])

			out.Reset()
			errOut.Reset()
			if code := ctlsend.Main(context.Background(), args, env(c.wrong), nil, &out, &errOut); code != 1 || !strings.Contains(out.String(), "401 Unauthorized") {
				t.Fatalf("wrong secret: exit %d, out %s, err %s; want 1 and 401", code, out.String(), errOut.String())
			}
			if n := len(r.inputs()); n != 1 {
				t.Fatalf("a wrongly signed request reached provisioning (%d requests)", n)
			}
		})
	}
}

// What send cannot sign is said before anything is sent, naming the
// variable or flag.
func TestSendRefusesWhatItCannotSign(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--route", "webhook"}, nil, "--file or --data"},
		{[]string{"--route", "carrier-pigeon"}, nil, `--route "carrier-pigeon"`},
		{[]string{}, nil, "--route is required"},
		{[]string{"--route", "webhook", "--data", event}, map[string]string{"VPNGW_WEBHOOK_SECRET": ""}, "VPNGW_WEBHOOK_SECRET is not set"},
		{[]string{"--route", "webhook", "--data", event, "--key-name", "cd"}, nil, "has no key of that name; it has ci"},
		{[]string{"--route", "slack"}, map[string]string{"VPNGW_SLACK_SIGNING_SECRET": ""}, "VPNGW_SLACK_SIGNING_SECRET is not set"},
		{[]string{"--route", "dingtalk", "--data", "{}"}, nil, "give --text"},
		{[]string{"--route", "slack", "--url", "127.0.0.1:8080"}, nil, "--url"},
	} {
		var out, errOut bytes.Buffer
		if code := ctlsend.Main(context.Background(), c.args, env(c.env), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %q", c.args, code, errOut.String(), c.want)
		}
	}
}

// The DingTalk timestamp is in milliseconds, the others in seconds.
func TestSendTimestampUnits(t *testing.T) {
	now := time.Unix(1764600000, 123e6)
	for route, header := range map[string]string{"webhook": webhook.HeaderTimestamp, "slack": webhook.HeaderSlackTimestamp, "dingtalk": webhook.HeaderDingTalkTimestamp} {
		o := ctlsend.Options{Route: route, URL: ctlsend.DefaultURL, Body: []byte(event), Text: "help"}
		req, err := ctlsend.NewRequest(context.Background(), o, env(nil), now)
		if err != nil {
			t.Fatal(err)
		}
		want := "1764600000"
		if route == "dingtalk" {
			want = "1764600000123"
		}
		if got := req.Header.Get(header); got != want {
			t.Errorf("%s: %s %q, want %q", route, header, got, want)
		}
		var m map[string]any
		if route == "dingtalk" {
			b := new(bytes.Buffer)
			_, _ = b.ReadFrom(req.Body)
			if json.Unmarshal(b.Bytes(), &m) != nil || m["msgtype"] != "text" {
				t.Errorf("dingtalk body %s", b)
			}
		}
	}
}
