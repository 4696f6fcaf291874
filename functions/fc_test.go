// Package functions_test runs the built function binaries the way Function
// Compute runs them: each is started with FC_RUNTIME_API pointing at a
// runtime API server in the test, and handed real invocations.
package functions_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/runtime/fcapi"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// build compiles ./functions/<name> as the Makefile does.
func build(t *testing.T, name string) string {
	t.Helper()
	return apptest.BuildFunction(t, t.TempDir(), name)
}

type platform struct {
	api   *vpcsim.Server
	env   []string
	stsID string
}

// requestedSample is the README's sample request.
func requestedSample(t testing.TB) []byte {
	t.Helper()
	b, err := events.Samples.ReadFile("testdata/requested.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newPlatform starts what the functions talk to, with the component-test
// twin: the VPC API emulator (accepting only the STS credentials handed over
// with each invocation), an embedded NATS server and a SQLite file.
func newPlatform(t *testing.T) *platform {
	t.Helper()
	p := &platform{stsID: "STS.NTvpngwTest0001"}
	s := apptest.New(t, apptest.WithWallClock(), apptest.WithoutApp(), apptest.WithEmulator(
		vpcsim.WithSTSToken(p.stsID, "sts-secret-for-test", "sts-token-for-test", time.Now().Add(time.Hour)),
		vpcsim.WithProvisioningDelay(time.Millisecond)))
	p.api, p.env = s.API, s.Environ()
	return p
}

// function is one function binary running under its own runtime API.
type function struct {
	*apptest.Function
	stsID string
	logs  *testenv.SyncBuffer
}

func (p *platform) start(t *testing.T, name string) *function {
	t.Helper()
	logs := &testenv.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, logs.String())
		}
	})
	return &function{Function: apptest.StartFunction(t, name, build(t, name), p.env, logs), stsID: p.stsID, logs: logs}
}

func (f *function) invoke(t *testing.T, payload []byte) fcapi.Result {
	t.Helper()
	return f.invokeWithToken(t, payload, "sts-token-for-test")
}

// invokeWithToken hands the invocation token as its security token.
func (f *function) invokeWithToken(t *testing.T, payload []byte, token string) fcapi.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.Invoke(ctx, fcapi.Invocation{
		Payload: payload, Timeout: 20 * time.Second,
		AccessKeyID: f.stsID, AccessKeySecret: "sts-secret-for-test", SecurityToken: token,
		Region: "cn-hangzhou", AccountID: "123456789", FunctionName: "vpngw",
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestFunctionBinariesAnswerThroughTheRuntimeAPI(t *testing.T) {
	p := newPlatform(t)
	provision := p.start(t, "provision")
	reconcile := p.start(t, "reconcile")

	sample := requestedSample(t)
	res := provision.invoke(t, sample)
	if res.Error != nil {
		t.Fatalf("provision answered an error: %+v", res.Error)
	}
	var out struct {
		Results []struct{ State, VpnGatewayId string }
	}
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("answer %s: %v", res.Payload, err)
	}
	if len(out.Results) != 1 || out.Results[0].State != "pending" || out.Results[0].VpnGatewayId == "" {
		t.Fatalf("provision answered %s", res.Payload)
	}
	if n := len(p.api.Gateways()); n != 1 {
		t.Fatalf("emulator holds %d gateways, want 1", n)
	}

	// The emulator makes gateways active after a millisecond; the timer
	// invocation settles it.
	time.Sleep(20 * time.Millisecond)
	timer := []byte(`{"triggerTime":"2026-11-25T10:00:00Z","triggerName":"timer","payload":"{\"regions\":[\"cn-hangzhou\"]}"}`)
	res = reconcile.invoke(t, timer)
	if res.Error != nil {
		t.Fatalf("reconcile answered an error: %+v", res.Error)
	}
	var rep struct {
		Active   int `json:"active"`
		APICalls int `json:"apiCalls"`
	}
	if err := json.Unmarshal(res.Payload, &rep); err != nil || rep.Active != 1 || rep.APICalls != 1 {
		t.Fatalf("reconcile answered %s (%v), want 1 active in 1 call", res.Payload, err)
	}

	// A payload the function cannot use is answered through the error path,
	// not by a crash: the next invocation still works.
	res = reconcile.invoke(t, []byte(`{"triggerTime":"x","triggerName":"timer","payload":"{\"region\":\"typo\"}"}`))
	if res.Error == nil || !strings.Contains(res.Error.Message, "timer payload") {
		t.Fatalf("bad timer payload: %+v, want an error naming the payload", res)
	}
	if res := reconcile.invoke(t, timer); res.Error != nil {
		t.Fatalf("after an error the function must keep serving: %+v", res.Error)
	}
}

// An invocation whose credentials the API refuses (here a security token
// that is not the key's) fails, so that Function Compute delivers it again,
// and settles nothing; the next invocation, with good credentials, creates
// the gateway once.
func TestFunctionRetriesWhenTheAPIRefusesItsCredentials(t *testing.T) {
	p := newPlatform(t)
	provision := p.start(t, "provision")
	sample := requestedSample(t)
	res := provision.invokeWithToken(t, sample, "a-token-of-another-key")
	if res.Error == nil {
		t.Fatalf("provision succeeded with refused credentials (%s): the platform would not retry", res.Payload)
	}
	if n := len(p.api.Gateways()); n != 0 {
		t.Fatalf("%d gateways", n)
	}
	res = provision.invoke(t, sample)
	if res.Error != nil {
		t.Fatalf("retry with good credentials: %+v", res.Error)
	}
	var out struct {
		Results []struct{ State, VpnGatewayId string }
	}
	if err := json.Unmarshal(res.Payload, &out); err != nil || len(out.Results) != 1 || out.Results[0].State != "pending" {
		t.Fatalf("retry answered %s (%v), want one pending", res.Payload, err)
	}
	if n := len(p.api.Gateways()); n != 1 {
		t.Fatalf("%d gateways, want 1", n)
	}
}

func TestFunctionRefusesMissingConfiguration(t *testing.T) {
	bin := build(t, "provision")
	cmd := exec.Command(bin)
	cmd.Env = []string{"FC_RUNTIME_API=127.0.0.1:1"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("started without VPNGW_STORE_URL and VPNGW_QUEUE_URL")
	}
	for _, name := range []string{"VPNGW_STORE_URL", "VPNGW_QUEUE_URL", "VPNGW_POLICY"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("start-up error does not name %s:\n%s", name, out)
		}
	}
}

// A typo in a variable's name would leave the setting at its default in
// silence: the function refuses to start, naming the variable and the one
// it most likely meant.
func TestFunctionRefusesUnknownVariable(t *testing.T) {
	bin := build(t, "provision")
	cmd := exec.Command(bin)
	cmd.Env = []string{"FC_RUNTIME_API=127.0.0.1:1", "VPNGW_POLICY_FILE=/etc/vpngw/policy.yaml",
		"VPNGW_TEST_POSTGRES_URL=postgres://x"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("started with VPNGW_POLICY_FILE set")
	}
	if !strings.Contains(string(out), "VPNGW_POLICY_FILE is not a variable vpngw reads; did you mean VPNGW_POLICY?") {
		t.Errorf("start-up error does not name VPNGW_POLICY_FILE and VPNGW_POLICY:\n%s", out)
	}
	for _, name := range []string{"VPNGW_TEST_POSTGRES_URL"} {
		if strings.Contains(string(out), name) {
			t.Errorf("start-up error names %s, which vpngw accepts:\n%s", name, out)
		}
	}
}
