package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	"github.com/nats-io/nats.go"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/runtime"
	"github.com/vpngw/vpngw/internal/webhook"
)

// receivedEvent is an outcome as a NATS subscriber reads it.
type receivedEvent struct {
	ID, Type, Subject string
	Data              json.RawMessage
}

// The must-show of "the first hour": everything events/README.md and the
// README promise of the samples and the sample policy, tried on the local
// stack as `make run` starts it (Start, the default seed), with the
// knobs the other local-stack tests use so that it takes seconds: the
// emulator makes a gateway active in 300 ms, and reconcile ticks every
// 100 ms.

// Secrets of the chat routes of the sample-policy stack.
const (
	samplesSlackSecret    = "samples-slack-signing-secret-0001"
	samplesDingTalkSecret = "samples-dingtalk-app-secret-00000001"
)

// outcomeLog collects what a plain NATS subscriber of the local stack
// receives, by the request each outcome answers.
type outcomeLog struct {
	mu  sync.Mutex
	got map[string][]receivedEvent // by source "\x00" id
}

func (o *outcomeLog) key(source, id string) string { return source + "\x00" + id }

// terminal is the request's last outcome of a terminal type (active,
// failed, validated, batch completed), or false.
func (o *outcomeLog) terminal(source, id string) (receivedEvent, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	evs := o.got[o.key(source, id)]
	for i := len(evs) - 1; i >= 0; i-- {
		switch evs[i].Type {
		case events.TypeActive, events.TypeFailed, events.TypeValidated, events.TypeBatchCompleted:
			return evs[i], true
		}
	}
	return receivedEvent{}, false
}

func (o *outcomeLog) types(source, id string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, e := range o.got[o.key(source, id)] {
		out = append(out, e.Type)
	}
	return out
}

// startSamplesStack starts the local stack with env (make run's, plus
// extra) and subscribes to its embedded NATS.
func startSamplesStack(t *testing.T, extra map[string]string) (*Stack, *outcomeLog) {
	t.Helper()
	env := map[string]string{
		"VPNGW_EMULATOR_DELAY":     "300ms",
		"VPNGW_RECONCILE_INTERVAL": "100ms",
	}
	for k, v := range extra {
		env[k] = v
	}
	l, _ := startLocalEnv(t, env)
	o := &outcomeLog{got: map[string][]receivedEvent{}}
	nc, err := nats.Connect(l.NATS.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe("vpngw.>", func(m *nats.Msg) {
		var ev receivedEvent
		var ref struct {
			Request events.RequestRef
		}
		if json.Unmarshal(m.Data, &ev) != nil || json.Unmarshal(ev.Data, &ref) != nil {
			t.Errorf("unreadable event on %s: %s", m.Subject, m.Data)
			return
		}
		o.mu.Lock()
		k := o.key(ref.Request.Source, ref.Request.EventID)
		o.got[k] = append(o.got[k], ev)
		o.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return l, o
}

// expectation is how one request must end.
type expectation struct {
	what       string // the sample file or the rule
	source, id string
	// typ is the terminal outcome's type; code and stage, for failed.
	typ, stage, code string
	// check looks further into the terminal outcome's data.
	check func(t *testing.T, data json.RawMessage)
}

// awaitAll waits until every expectation has a terminal outcome (or 30 s
// have passed) and checks each.
func awaitAll(t *testing.T, o *outcomeLog, exps []expectation) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, e := range exps {
		var ev receivedEvent
		ok := false
		for {
			if ev, ok = o.terminal(e.source, e.id); ok || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !ok {
			t.Errorf("%s (%s %s): no terminal outcome; received %v, want %s", e.what, e.source, e.id, o.types(e.source, e.id), e.typ)
			continue
		}
		if ev.Type != e.typ {
			t.Errorf("%s: ended %s %s, want %s %s", e.what, ev.Type, ev.Data, e.typ, e.code)
			continue
		}
		if e.typ == events.TypeFailed {
			var f events.Failed
			if err := json.Unmarshal(ev.Data, &f); err != nil || f.Stage != e.stage || f.Code != e.code {
				t.Errorf("%s: failed at %s with %s (%s), want %s at %s", e.what, f.Stage, f.Code, f.Message, e.code, e.stage)
				continue
			}
		}
		if e.check != nil {
			e.check(t, ev.Data)
		}
	}
}

// postJSON posts body to the local stack's path and returns the status and
// the answer.
func postJSON(t *testing.T, l *Stack, path, contentType string, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+l.HTTPAddr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sampleOf reads one sample's source, id and data.
func sampleOf(t *testing.T, name string) (raw []byte, source, id string, data json.RawMessage) {
	t.Helper()
	raw, err := events.Samples.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Source string          `json:"source"`
		ID     string          `json:"id"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return raw, ev.Source, ev.ID, ev.Data
}

// answersLike checks an outcome's data against the sample's, as far as
// part picks it out of both.
func answersLike[T any](sample string, part func(*T) any) func(t *testing.T, data json.RawMessage) {
	return func(t *testing.T, data json.RawMessage) {
		var got, want T
		_, _, _, wantData := sampleOf(t, sample)
		if err := json.Unmarshal(data, &got); err != nil {
			t.Errorf("%s: %v", sample, err)
		}
		_ = json.Unmarshal(wantData, &want)
		sameJSON(t, sample, part(&got), part(&want))
	}
}

// sameJSON compares what a field of an outcome holds with a sample's.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	var gv, wv any
	_ = json.Unmarshal(g, &gv)
	_ = json.Unmarshal(w, &wv)
	if !reflect.DeepEqual(gv, wv) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// Every sample under events/testdata, posted to `make run`'s CloudEvents
// endpoint (the README's curl), ends as events/README.md says: the request
// samples with their gateway active, or failed InvalidRequest with the
// errors of the sample that answers them; the batch with every item
// active and one summary; the outcome samples, which vpngw sends and never
// takes, refused for their type.
func TestSamplesEndAsTheReadmeSays(t *testing.T) {
	l, o := startSamplesStack(t, nil)
	names, err := fs.Glob(events.Samples, "testdata/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("samples: %v %v", names, err)
	}
	// The outcome sample that answers a request sample: what the request
	// decides is the same here (the gateway's id, IPs and times are the
	// emulator's own). ChargeType is passed on as the API reports it: the
	// sample has the China site's documented "Prepay", the emulator echoes
	// the request's PREPAY.
	activeLike := func(sample string) func(t *testing.T, data json.RawMessage) {
		return answersLike(sample, func(a *events.Active) any {
			a.VpnGatewayId, a.InternetIp, a.DisasterRecoveryInternetIp, a.SslVpnInternetIp, a.CreateTime, a.OrderId = "", "", "", "", 0, 0
			a.ChargeType = strings.ToUpper(a.ChargeType)
			return a
		})
	}
	failedLike := func(sample string) func(t *testing.T, data json.RawMessage) {
		return answersLike(sample, func(f *events.Failed) any { return []any{f.Errors, f.ErrorsOmitted} })
	}
	var exps []expectation
	seen := map[string]bool{}
	for _, path := range names {
		name := filepath.Base(path)
		seen[name] = true
		raw, source, id, _ := sampleOf(t, name)
		code, body := postJSON(t, l, "/", "application/cloudevents+json", raw, nil)
		e := expectation{what: name, source: source, id: id, typ: events.TypeActive}
		status := http.StatusAccepted
		switch name {
		case "requested.json", "requested-base64.json", "requested-eventbridge.json":
			// The README's curl, data_base64, an EventBridge delivery.
		case "io.vpngw.gateway.requested.json":
			// Every parameter: answered as the active sample says.
			e.check = activeLike("io.vpngw.gateway.active.json")
		case "requested-invalid.json":
			status, e.typ, e.stage, e.code = http.StatusBadRequest, events.TypeFailed, events.StageValidation, events.CodeInvalidRequest
			e.check = failedLike("io.vpngw.gateway.failed.json")
		case "requested-invalid-tags.json":
			status, e.typ, e.stage, e.code = http.StatusBadRequest, events.TypeFailed, events.StageValidation, events.CodeInvalidRequest
			e.check = failedLike("failed-errors-omitted.json")
		case "delete-requested-by-id.json", "io.vpngw.gateway.delete.requested.json":
			// Deletes, posted (in name order) before requested.json made
			// the gateway they name: vpngw has no record of creating it,
			// and says so (TestLocalStackDeletes deletes it after).
			status, e.typ, e.stage, e.code = http.StatusBadRequest, events.TypeFailed, events.StageDeletion, events.CodeNotCreatedByVpngw
		case "io.vpngw.gateway.batch.requested.json":
			// Each item is a request of its own, and every one becomes a
			// gateway here: the sample summary's provisioning timeout is
			// what a gateway still init after VPNGW_PROVISION_TIMEOUT
			// gets, which the emulator's gateways never are.
			var batch events.BatchRequest
			_, _, _, data := sampleOf(t, name)
			if err := json.Unmarshal(data, &batch); err != nil {
				t.Fatal(err)
			}
			for i := range batch.Requests {
				exps = append(exps, expectation{what: fmt.Sprintf("%s item %d", name, i), source: source, id: events.BatchItemID(id, i), typ: events.TypeActive})
			}
			e.typ = events.TypeBatchCompleted
			e.check = func(t *testing.T, data json.RawMessage) {
				var got events.BatchCompleted
				_ = json.Unmarshal(data, &got)
				if got.Total != 3 || got.Active != 3 || got.Failed != 0 || len(got.FailedItems) != 0 {
					t.Errorf("%s: summary %s, want 3 items, 3 active", name, data)
				}
			}
		default:
			// An outcome sample: vpngw's own output, not a request.
			status, e.typ, e.stage, e.code = http.StatusBadRequest, events.TypeFailed, events.StageValidation, events.CodeInvalidRequest
			e.check = func(t *testing.T, data json.RawMessage) {
				var f events.Failed
				_ = json.Unmarshal(data, &f)
				if len(f.Errors) != 1 || f.Errors[0].Field != "type" {
					t.Errorf("%s: %s, want one error naming type", name, data)
				}
			}
		}
		if code != status {
			t.Errorf("%s: POST / answered %d %s, want %d", name, code, body, status)
		}
		exps = append(exps, e)
	}
	// A sample added later is tried too, but only once this test says how
	// it must end.
	for _, want := range []string{"requested.json", "io.vpngw.gateway.requested.json", "requested-base64.json", "requested-eventbridge.json",
		"requested-invalid.json", "requested-invalid-tags.json", "io.vpngw.gateway.batch.requested.json"} {
		if !seen[want] {
			t.Errorf("sample %s is gone", want)
		}
	}
	awaitAll(t, o, exps)
	if t.Failed() {
		return
	}
	var report []string
	for _, e := range exps {
		report = append(report, fmt.Sprintf("%s: %s %s", e.what, e.typ, e.code))
	}
	sort.Strings(report)
	t.Logf("samples:\n  %s", strings.Join(report, "\n  "))
}

// One request per rule of deploy/policy.sample.yaml, each through the route
// the rule binds, on the local stack with VPNGW_POLICY pointing at it and
// the chat routes on: the bus rules through the event bus's paths (the
// local CloudEvents endpoint, and the provision function as Function
// Compute invokes it, for the rule bound to a bus), chatops as a signed
// Slack command, netops-trial as a signed DingTalk message. Each ends as
// the rule says: a gateway, or a dry run; and the rule bound to its bus
// denies the same request arriving any other way.
func TestSamplePolicyRulesEndAsTheyAllow(t *testing.T) {
	l, o := startSamplesStack(t, map[string]string{
		"VPNGW_POLICY":               filepath.Join("..", "..", "deploy", "policy.sample.yaml"),
		"VPNGW_SLACK_SIGNING_SECRET": samplesSlackSecret,
		"VPNGW_DINGTALK_APP_SECRET":  samplesDingTalkSecret,
	})
	event := func(source, id string, data map[string]any, ext map[string]string) []byte {
		ev := map[string]any{"specversion": "1.0", "id": id, "source": source, "type": events.TypeRequested,
			"datacontenttype": "application/json", "data": data}
		for k, v := range ext {
			ev[k] = v
		}
		b, _ := json.Marshal(ev)
		return b
	}
	pair := func(vpc string) (string, string) {
		sw := "vsw-" + strings.TrimSuffix(strings.TrimPrefix(vpc, "vpc-"), "1")
		return sw + "1", sw + "2"
	}
	var exps []expectation
	bus := func(rule, source, id string, data map[string]any) {
		code, body := postJSON(t, l, "/", "application/cloudevents+json", event(source, id, data, nil), nil)
		if code != http.StatusAccepted {
			t.Errorf("%s: POST / answered %d %s, want 202", rule, code, body)
		}
		exps = append(exps, expectation{what: rule, source: source, id: id, typ: events.TypeActive})
	}

	// ticketing: small pay-as-you-go gateways with a tkt- name and a cost
	// centre, in its landing zone's VPCs.
	vsw1, vsw2 := pair("vpc-bp1tktvpngw000001")
	bus("ticketing", "https://tickets.example.com/queue-7", "TKT-4711", map[string]any{
		"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1tktvpngw000001", "VSwitchId": vsw1, "DisasterRecoveryVSwitchId": vsw2,
		"Bandwidth": 100, "InstanceChargeType": "POSTPAY", "Name": "tkt-4711",
		"Tags": []map[string]string{{"Key": "CostCenter", "Value": "CC-42"}},
	})
	// finance-subscriptions: a subscription its system pays itself.
	vsw1, vsw2 = pair("vpc-bp1finvpngw000001")
	bus("finance-subscriptions", "https://erp.example.com/procurement", "PO-123456", map[string]any{
		"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1finvpngw000001", "VSwitchId": vsw1, "DisasterRecoveryVSwitchId": vsw2,
		"Bandwidth": 200, "InstanceChargeType": "PREPAY", "Period": 1, "AutoPay": true,
		"Tags": []map[string]string{{"Key": "CostCenter", "Value": "CC-7"}, {"Key": "PurchaseOrder", "Value": "PO-123456"}},
	})

	// platform-unrestricted: only from the bus vpngw-ci, which Alibaba
	// Cloud EventBridge stamps on what it delivers to the provision
	// function. Through the local endpoint, which claims no bus, the same
	// event is denied.
	const ciSource = "https://ci.example.com/platform"
	ci := event(ciSource, "pipeline-991", map[string]any{
		"RegionId": "ap-southeast-1", "VpcId": "vpc-t4nvpngwdemo0000001", "VSwitchId": "vsw-t4nvpngwdemo0000001",
		"DisasterRecoveryVSwitchId": "vsw-t4nvpngwdemo0000002", "Bandwidth": 1000, "EnableSsl": true, "SslConnections": 500,
	}, map[string]string{intake.BusExtension: "vpngw-ci"})
	if code, body := postJSON(t, l, "/", "application/cloudevents+json", ci, nil); code != http.StatusBadRequest || !strings.Contains(body, events.CodePolicyDenied) {
		t.Errorf("platform-unrestricted through the local endpoint: %d %s, want 400 PolicyDenied", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx = fccontext.NewContext(ctx, &fccontext.FcContext{RequestID: "samples-fc"})
	// A fresh id: the denied attempt above recorded its own.
	ci = bytes.Replace(ci, []byte(`"pipeline-991"`), []byte(`"pipeline-992"`), 1)
	if _, err := runtime.FC(l.App.ProvisionHandler(), slog.New(slog.DiscardHandler))(ctx, ci); err != nil {
		t.Errorf("platform-unrestricted on Function Compute: %v", err)
	}
	exps = append(exps, expectation{what: "platform-unrestricted", source: ciSource, id: "pipeline-992", typ: events.TypeActive})

	// chatops: a Slack slash command, signed as Slack signs it.
	vsw1, vsw2 = pair("vpc-bp1devvpngw000001")
	form := url.Values{
		"command": {"/vpngw"}, "team_id": {"T0VPNGW01"}, "user_id": {"U0VPNGW0001"}, "trigger_id": {"13345224609.738474920.8088930838d88f008e0"},
		"text": {"create region=cn-hangzhou vpc=vpc-bp1devvpngw000001 bandwidth=20 vswitch=" + vsw1 + " dr-vswitch=" + vsw2 + " ssl=50 charge=POSTPAY"},
	}
	body := []byte(form.Encode())
	ts, sig := webhook.SignSlack(samplesSlackSecret, time.Now(), body)
	code, answer := postJSON(t, l, "/webhook/slack", "application/x-www-form-urlencoded", body,
		http.Header{webhook.HeaderSlackTimestamp: {ts}, webhook.HeaderSlackSignature: {sig}})
	if code != http.StatusOK || !strings.Contains(answer, "is being created") {
		t.Errorf("chatops: /webhook/slack answered %d %s, want 200 and a gateway being created", code, answer)
	}
	exps = append(exps, expectation{what: "chatops", source: webhook.SourcePrefixSlack + "T0VPNGW01", id: form.Get("trigger_id"), typ: events.TypeActive})

	// netops-trial: a DingTalk message in its conversation, made a dry run
	// by the rule.
	vsw1, vsw2 = pair("vpc-bp1netvpngw000001")
	msg, _ := json.Marshal(map[string]any{
		"msgtype": "text", "msgId": "msgNetops0001", "conversationId": "cidNetops01==", "senderStaffId": "staff-0001",
		"text": map[string]string{"content": "create region=cn-hangzhou vpc=vpc-bp1netvpngw000001 bandwidth=50 charge=POSTPAY vswitch=" + vsw1 + " dr-vswitch=" + vsw2},
	})
	ts, sign := webhook.SignDingTalk(samplesDingTalkSecret, time.Now())
	code, answer = postJSON(t, l, "/webhook/dingtalk", "application/json", msg,
		http.Header{webhook.HeaderDingTalkTimestamp: {ts}, webhook.HeaderDingTalkSign: {sign}})
	if code != http.StatusOK || !strings.Contains(answer, "makes it a dry run") {
		t.Errorf("netops-trial: /webhook/dingtalk answered %d %s, want 200 and a dry run", code, answer)
	}
	exps = append(exps, expectation{what: "netops-trial", source: webhook.SourcePrefixDingTalk + "cidNetops01==", id: "msgNetops0001", typ: events.TypeValidated,
		check: func(t *testing.T, data json.RawMessage) {
			var v events.Validated
			if err := json.Unmarshal(data, &v); err != nil || !v.WouldCreate {
				t.Errorf("netops-trial: %s, want a dry run that would create", data)
			}
		}})

	// A request no rule matches is denied: the README's sample request.
	raw, source, id, _ := sampleOf(t, "requested.json")
	if code, body := postJSON(t, l, "/", "application/cloudevents+json", raw, nil); code != http.StatusBadRequest {
		t.Errorf("requested.json under the sample policy: %d %s, want 400", code, body)
	}
	exps = append(exps, expectation{what: "requested.json, no rule", source: source, id: id, typ: events.TypeFailed, stage: events.StagePolicy, code: events.CodePolicyDenied})

	awaitAll(t, o, exps)
	gws := l.Emulator.Gateways()
	if len(gws) != 4 {
		t.Errorf("the emulator holds %d gateways, want 4: ticketing, finance, platform, chatops", len(gws))
	}
}
