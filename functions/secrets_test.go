package functions_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/events"
	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/vpngw/vpngw/internal/secrets/extsim"
	"github.com/vpngw/vpngw/internal/secrets/kmssim"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
	"github.com/vpngw/vpngw/internal/webhook"
)

// The role's STS credentials Function Compute puts in an instance's
// environment, which the start-up fetch signs with.
const (
	initKeyID  = "STS.NTkmsInit0001"
	initSecret = "sts-init-secret-for-test"
	initToken  = "sts-init-token-for-test"
)

// withKMS adds a KMS stand-in to p, which the role's start-up credentials
// and the invocations' may read readable with, and the variables that
// point the functions at it.
func withKMS(t *testing.T, p *platform, readable ...string) *kmssim.Server {
	t.Helper()
	k := kmssim.New()
	k.AddCredential(initKeyID, initSecret, initToken, readable...)
	k.AddCredential(p.stsID, "sts-secret-for-test", "sts-token-for-test", readable...)
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	p.env = append(p.env, "FC_REGION=cn-hangzhou", "VPNGW_KMS_ENDPOINT="+srv.URL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+initKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+initSecret, "ALIBABA_CLOUD_SECURITY_TOKEN="+initToken)
	return k
}

// noLeak fails when secret is in the function's output or in its process
// environment (what anyone reading the function's configuration sees).
func noLeak(t *testing.T, f *function, secret string) {
	t.Helper()
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(f.PID()) + "/environ")
	if err != nil {
		t.Fatalf("read the function's environment: %v", err)
	}
	if strings.Contains(string(environ), secret) {
		t.Errorf("the secret is in the function's process environment")
	}
	if strings.Contains(f.logs.String(), secret) {
		t.Errorf("the secret is in the function's output:\n%s", f.logs.String())
	}
}

func webhookCall(t *testing.T, f *function, body []byte) func(map[string]string) (int, string) {
	return func(h map[string]string) (int, string) {
		t.Helper()
		res := f.invoke(t, httpTriggerEvent(t, body, h))
		if res.Error != nil {
			t.Fatalf("webhook answered an invocation error: %+v", res.Error)
		}
		var out events.HTTPTriggerResponse
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatalf("answer %s: %v", res.Payload, err)
		}
		return out.StatusCode, out.Body
	}
}

// The webhook binary, started under the Function Compute runtime API with
// only the secret's name in its environment, reads the secret from KMS and
// verifies requests with it; the value is in neither its environment nor
// its output.
func TestWebhookBinaryReadsItsSecretFromKMS(t *testing.T) {
	p := newPlatform(t)
	k := withKMS(t, p, "vpngw/webhook/cloudevents")
	k.PutSecret("vpngw/webhook/cloudevents", webhookSecret)
	p.env = append(p.env, "VPNGW_WEBHOOK_SECRET_SECRET=vpngw/webhook/cloudevents", "VPNGW_WEBHOOK_SECRET_SOURCES=*")
	fn := p.start(t, "webhook")
	body := requestedSample(t)
	webhookAuthScenario(t, body, webhookCall(t, fn, body), func() int { return len(p.api.Gateways()) })
	if n := k.Reads("vpngw/webhook/cloudevents"); n != 1 {
		t.Errorf("KMS answered %d reads of the secret, want 1 (once per instance, within the TTL)", n)
	}
	noLeak(t, fn, webhookSecret)
}

// A secret rotated in KMS is in use once VPNGW_SECRET_TTL has passed,
// without a redeploy; the old one is refused from then on.
func TestWebhookBinaryTakesARotatedSecret(t *testing.T) {
	p := newPlatform(t)
	k := withKMS(t, p, "vpngw/webhook/cloudevents")
	k.PutSecret("vpngw/webhook/cloudevents", webhookSecret)
	p.env = append(p.env, "VPNGW_WEBHOOK_SECRET_SECRET=vpngw/webhook/cloudevents", "VPNGW_WEBHOOK_SECRET_SOURCES=*", "VPNGW_SECRET_TTL=1ms")
	fn := p.start(t, "webhook")
	body := requestedSample(t)
	call := webhookCall(t, fn, body)
	// Each request a second apart: the replay guard knows a body by its
	// timestamp, whatever the secret.
	at := time.Now()
	signed := func(secret string) map[string]string {
		at = at.Add(time.Second)
		ts, sig := webhook.Sign(secret, at, body)
		return map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: sig}
	}
	if code, b := call(signed(webhookSecret)); code != 202 {
		t.Fatalf("signed with the first secret: %d %s", code, b)
	}
	const rotated = "webhook-secret-rotated-in-kms-4567"
	k.PutSecret("vpngw/webhook/cloudevents", rotated)
	time.Sleep(5 * time.Millisecond) // past the 1 ms TTL
	if code, b := call(signed(rotated)); code != 202 {
		t.Fatalf("signed with the rotated secret: %d %s, want 202", code, b)
	}
	if code, _ := call(signed(webhookSecret)); code != 401 {
		t.Errorf("signed with the old secret after the rotation: %d, want 401", code)
	}
	noLeak(t, fn, rotated)
	noLeak(t, fn, webhookSecret)
}

// A secret the function cannot read stops its start, naming the variable,
// the secret and KMS's code, and nothing of any value.
func TestFunctionBinaryRefusesToStartWithoutItsSecret(t *testing.T) {
	bin := build(t, "webhook")
	for _, c := range []struct{ name, secret, want string }{
		{"not in KMS", "vpngw/webhook/missing", "Forbidden.ResourceNotFound"},
		{"not the role's", "vpngw/shared/other", "Forbidden.NoPermission"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPlatform(t)
			k := withKMS(t, p, "vpngw/webhook/missing")
			k.PutSecret("vpngw/shared/other", "other-secret-value-0123456789")
			cmd := exec.Command(bin)
			cmd.Env = append([]string{"FC_RUNTIME_API=127.0.0.1:1", "VPNGW_WEBHOOK_SECRET_SECRET=" + c.secret, "VPNGW_WEBHOOK_SECRET_SOURCES=*"}, p.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("started without its secret:\n%s", out)
			}
			for _, want := range []string{"VPNGW_WEBHOOK_SECRET_SECRET", c.secret, c.want} {
				if !strings.Contains(string(out), want) {
					t.Errorf("the start-up error does not name %s:\n%s", want, out)
				}
			}
			for _, leak := range []string{"other-secret-value", initSecret, initToken} {
				if strings.Contains(string(out), leak) {
					t.Errorf("the output shows %q:\n%s", leak, out)
				}
			}
		})
	}
}

// The broker's password reaches the connection and nothing else: with the
// right one from KMS, provision publishes its outcome; with a wrong one the
// broker refuses the connection and the outcome waits in the outbox; the
// password is in neither run's output nor environment. Needs RabbitMQ
// (VPNGW_TEST_AMQP_URL, with a password).
func TestProvisionBinaryConnectsWithTheBrokerPasswordFromKMS(t *testing.T) {
	raw := testenv.URL(t, testenv.AMQPEnv)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("VPNGW_TEST_AMQP_URL: %v", err)
	}
	pass, ok := u.User.Password()
	if !ok {
		if testenv.Required() {
			t.Fatal("VPNGW_TEST_AMQP_URL carries no password to take from KMS; CI's broker URL must have one")
		}
		t.Skip("VPNGW_TEST_AMQP_URL carries no password to take from KMS")
	}
	u.User = url.User(u.User.Username())
	q := u.Query()
	// Its own exchange, and no queue bound to it: published is enough.
	q.Set("exchange", "vpngwtest.kms."+strconv.FormatInt(time.Now().UnixNano(), 36))
	q.Set("mandatory", "false")
	u.RawQuery = q.Encode()
	sample := requestedSample(t)
	const unpublished = "outbox not fully published"
	run := func(t *testing.T, password string) *function {
		p := newPlatform(t)
		k := withKMS(t, p, "vpngw/shared/queue")
		k.PutSecret("vpngw/shared/queue", password)
		p.env = append(p.env, "VPNGW_QUEUE_URL="+u.String(), "VPNGW_QUEUE_PASSWORD_SECRET=vpngw/shared/queue")
		fn := p.start(t, "provision")
		res := fn.invoke(t, sample)
		if res.Error != nil {
			t.Fatalf("provision answered an error: %+v", res.Error)
		}
		// The runtime prints its end line after the handler, whose drain
		// logged any failure to publish; the output arrives through a pipe.
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(fn.logs.String(), "FC Invoke End") && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if k.Reads("vpngw/shared/queue") != 1 {
			t.Errorf("KMS answered %d reads, want 1", k.Reads("vpngw/shared/queue"))
		}
		needle := password
		if password == u.User.Username() {
			// guest:guest: the user's name is in the URL by right; a
			// password would follow it.
			needle = ":" + password + "@"
		}
		noLeak(t, fn, needle)
		return fn
	}
	t.Run("the right password", func(t *testing.T) {
		if fn := run(t, pass); strings.Contains(fn.logs.String(), unpublished) {
			t.Errorf("the outcome was not published with the password from KMS:\n%s", fn.logs.String())
		}
	})
	t.Run("a wrong password", func(t *testing.T) {
		if fn := run(t, "not-the-broker-password-x9q"); !strings.Contains(fn.logs.String(), unpublished) {
			t.Errorf("published with a wrong password: the password did not reach the connection\n%s", fn.logs.String())
		}
	})
}

// On Lambda, the webhook binary under the Runtime Interface Emulator reads
// its webhook secret and the Alibaba Cloud key through a stand-in of the
// Parameters and Secrets extension's local API, with its session token; its
// environment names the secrets and holds no key.
func TestLambdaWebhookReadsItsSecretsThroughTheExtension(t *testing.T) {
	rie := lambdaRIE(t)
	p := lambdaNewPlatform(t)
	const token = "lambda-session-token-for-test"
	ext := extsim.New(token)
	ext.Put("vpngw/alibaba", `{"AccessKeyId":"`+vpcsim.DefaultAccessKeyID+`","AccessKeySecret":"`+vpcsim.DefaultAccessKeySecret+`"}`)
	ext.Put("vpngw/webhook", `{"WebhookSecret":"`+webhookSecret+`","SlackSigningSecret":""}`)
	srv := httptest.NewServer(ext)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	env := slices.DeleteFunc(p.env, func(kv string) bool { return strings.HasPrefix(kv, "ALIBABA_CLOUD_ACCESS_KEY_") })
	p.env = append(env, "AWS_SESSION_TOKEN="+token, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="+port,
		"ALIBABA_CLOUD_ACCESS_KEY_ID_SECRET=vpngw/alibaba#AccessKeyId",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET_SECRET=vpngw/alibaba#AccessKeySecret",
		"VPNGW_WEBHOOK_SECRET_SECRET=vpngw/webhook#WebhookSecret", "VPNGW_WEBHOOK_SECRET_SOURCES=*",
		"VPNGW_SLACK_SIGNING_SECRET_SECRET=vpngw/webhook#SlackSigningSecret")
	fn := p.start(t, rie, "webhook")
	body := requestedSample(t)
	webhookAuthScenario(t, body, func(h map[string]string) (int, string) {
		status, b := fn.invoke(t, functionURLEvent(t, body, h))
		var out lambdaevents.LambdaFunctionURLResponse
		if status != http.StatusOK || json.Unmarshal(b, &out) != nil || out.StatusCode == 0 {
			t.Fatalf("webhook answered %d %s, want a function URL response", status, b)
		}
		return out.StatusCode, out.Body
	}, func() int { return len(p.api.Gateways()) })
	for _, id := range []string{"vpngw/webhook", "vpngw/alibaba"} {
		if n := ext.Reads(id); n != 1 {
			t.Errorf("the extension served %s %d times, want 1 (one fetch per secret, whatever its fields)", id, n)
		}
	}
	for _, leak := range []string{webhookSecret, vpcsim.DefaultAccessKeySecret} {
		if strings.Contains(fn.logs.String(), leak) {
			t.Errorf("the output shows a secret:\n%s", fn.logs.String())
		}
	}
}

// A function refuses a store or broker URL with its password inline, naming
// the variable and where the password goes instead, without showing it.
func TestFunctionBinaryRefusesAPasswordInAURL(t *testing.T) {
	bin := build(t, "provision")
	p := newPlatform(t)
	// A binary that accepts the URL goes on to wait for the runtime API
	// and never exits by itself.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(append([]string{"FC_RUNTIME_API=127.0.0.1:1"}, p.env...), "VPNGW_QUEUE_URL=amqp://vpngw:SECRETinline7c1@mq.internal:5672/")
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("started with a password in VPNGW_QUEUE_URL (%v):\n%s", err, out)
	}
	for _, want := range []string{"VPNGW_QUEUE_URL carries a password", "VPNGW_QUEUE_PASSWORD_SECRET"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the start-up error does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "SECRETinline7c1") {
		t.Errorf("the output shows the password:\n%s", out)
	}
}
