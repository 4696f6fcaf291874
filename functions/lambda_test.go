package functions_test

// The same binaries under AWS Lambda's runtime: each is started by the AWS
// Lambda Runtime Interface Emulator (RIE), which sets AWS_LAMBDA_RUNTIME_API
// for it as Lambda does, and is invoked over the RIE's HTTP endpoint.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// The RIE is not a dependency of vpngw (go.mod does not name it): the test
// builds it from the module proxy in a module of its own, once per machine.
const (
	lambdaRIEModule  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	lambdaRIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"
	lambdaRIEPackage = lambdaRIEModule + "/cmd/aws-lambda-rie"
)

// lambdaRIE returns the path of the RIE binary, building it on first use
// into os.UserCacheDir()/vpngw-rie/<version>/ so that later runs (and CI on
// the same machine) take seconds, not the build's 10 to 25.
func lambdaRIE(t *testing.T) string {
	t.Helper()
	if goruntime.GOOS != "linux" {
		t.Skip("the AWS Lambda Runtime Interface Emulator runs on Linux only")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Logf("no user cache directory (%v): the RIE is built for this run only", err)
		cache = t.TempDir()
	}
	dir := filepath.Join(cache, "vpngw-rie", lambdaRIEVersion)
	bin := filepath.Join(dir, "aws-lambda-rie")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o100 != 0 {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("RIE cache: %v", err)
	}

	mod := t.TempDir()
	gomod := "module vpngw.test/rie\n\ngo 1.26\n\nrequire " + lambdaRIEModule + " " + lambdaRIEVersion + "\n"
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	// Built next to its final name and renamed, so that a concurrent run
	// never executes a half-written binary.
	tmp := filepath.Join(dir, "aws-lambda-rie.tmp"+strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", tmp, lambdaRIEPackage)
	cmd.Dir = mod
	// -mod=mod lets go build write the temporary module's go.sum; the
	// caller's GOPROXY and GOTOOLCHAIN still apply.
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"), "GOWORK=off", "CGO_ENABLED=0")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.Remove(tmp)
		t.Fatalf("cannot build the AWS Lambda Runtime Interface Emulator (%s@%s) from the Go module proxy, "+
			"so the Lambda path cannot be tested: %v\n%s", lambdaRIEPackage, lambdaRIEVersion, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatalf("RIE cache: %v", err)
	}
	t.Logf("built the RIE in %s into %s", time.Since(start).Round(100*time.Millisecond), bin)
	return bin
}

// lambdaPlatform is what the functions reach on Lambda: the VPC API
// emulator, signed with an access key from the environment (Lambda has no
// Alibaba Cloud role), a SQLite store and the log queue on standard output.
type lambdaPlatform struct {
	api *vpcsim.Server
	env []string
}

func lambdaNewPlatform(t *testing.T) *lambdaPlatform {
	t.Helper()
	// Only what a Lambda function's configuration would hold: nothing of
	// the test's own environment (an FC_RUNTIME_API there would make the
	// binary choose Function Compute), the log queue, and a key.
	s := apptest.New(t, apptest.WithWallClock(), apptest.WithoutApp(),
		apptest.WithEmulator(vpcsim.WithProvisioningDelay(time.Millisecond)),
		apptest.WithEnv(map[string]string{
			"VPNGW_QUEUE_URL":                 "log:",
			"ALIBABA_CLOUD_ACCESS_KEY_ID":     vpcsim.DefaultAccessKeyID,
			"ALIBABA_CLOUD_ACCESS_KEY_SECRET": vpcsim.DefaultAccessKeySecret,
			"AWS_LAMBDA_FUNCTION_TIMEOUT":     "30",
		}))
	return &lambdaPlatform{api: s.API, env: s.Environ()}
}

// lambdaFunction is one function binary running under its own RIE.
type lambdaFunction struct {
	name string
	url  string
	logs *testenv.SyncBuffer
}

// lambdaStart runs `aws-lambda-rie <bin>` as the RIE's documentation shows,
// on free loopback ports for its HTTP endpoint and for the runtime API it
// serves the function (9001 by default, which two RIEs cannot share).
func (p *lambdaPlatform) start(t *testing.T, rie, name string) *lambdaFunction {
	t.Helper()
	bin := build(t, name)
	// A free port is only free until someone else binds it: another test
	// package running at the same time may take one between the pick and
	// the RIE's listen. Such a start is tried again on other ports.
	for attempt := 1; ; attempt++ {
		fn, busy := p.startOnce(t, rie, name, bin)
		if fn != nil {
			return fn
		}
		if !busy || attempt == 3 {
			t.Fatalf("the RIE did not start %s", name)
		}
	}
}

// startOnce starts the RIE on two free ports; busy says it exited because
// one of them was taken meanwhile.
func (p *lambdaPlatform) startOnce(t *testing.T, rie, name, bin string) (fn *lambdaFunction, busy bool) {
	t.Helper()
	addr, apiAddr := lambdaFreeAddr(t), lambdaFreeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(append([]string{}, p.env...), "AWS_LAMBDA_FUNCTION_NAME=vpngw-"+name)
	logs := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the RIE: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		lambdaStop(t, cmd, exited, bin)
		if t.Failed() {
			t.Logf("%s under the RIE, output:\n%s", name, logs.String())
		}
	})

	// The RIE starts the function on the first invocation; it is ready when
	// its HTTP endpoint accepts connections.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			if strings.Contains(logs.String(), "address already in use") {
				t.Logf("a port the RIE was given was taken meanwhile; trying others:\n%s", logs.String())
				return nil, true
			}
			t.Fatalf("the RIE exited before listening on %s:\n%s", addr, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the RIE did not listen on %s within 15 s:\n%s", addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &lambdaFunction{name: name, url: "http://" + addr + "/2015-03-31/functions/function/invocations", logs: logs}, false
}

// lambdaStop ends the RIE the way a container stop does (SIGTERM, on which
// it kills the function it started), and kills whatever is left after five
// seconds: the RIE itself and, as it starts the function in a process group
// of its own, the function.
func lambdaStop(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}, bin string) {
	children := lambdaChildren(cmd.Process.Pid)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Logf("the RIE did not stop within 5 s of SIGTERM; killing it")
		_ = cmd.Process.Kill()
		<-exited
	}
	for _, pid := range children {
		// Only a process that still runs the function binary: the pid
		// cannot have been reused by anything else of ours.
		if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil && exe == bin {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// lambdaChildren lists the child processes of pid (Linux).
func lambdaChildren(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var pids []int
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

func lambdaFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// invoke posts payload to the RIE, as `curl -d @event.json` against a
// Lambda container does, and returns the HTTP status and the answer.
func (f *lambdaFunction) invoke(t *testing.T, payload []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s through the RIE: %v", f.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s's answer: %v", f.name, err)
	}
	return resp.StatusCode, body
}

// lambdaPublished waits for the log queue's line of an outcome of type typ
// about subject on the function's standard output, which the RIE relays.
func lambdaPublished(t *testing.T, f *lambdaFunction, typ, subject string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sc := bufio.NewScanner(strings.NewReader(f.logs.String()))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var line struct {
				Type  string
				Event struct{ Subject string }
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Type == typ && line.Event.Subject == subject {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s published no %s event for %s", f.name, typ, subject)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lambdaScheduled is the event a scheduled EventBridge rule hands to Lambda,
// with detail as given.
func lambdaScheduled(detail string) []byte {
	return []byte(`{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",` +
		`"source":"aws.events","account":"123456789012","time":"2026-11-25T10:00:00Z","region":"eu-west-1",` +
		`"resources":["arn:aws:events:eu-west-1:123456789012:rule/vpngw-reconcile"],"detail":` + detail + `}`)
}

func TestLambdaBinariesAnswerThroughTheRuntimeInterfaceEmulator(t *testing.T) {
	rie := lambdaRIE(t)
	p := lambdaNewPlatform(t)
	provision := p.start(t, rie, "provision")
	reconcile := p.start(t, rie, "reconcile")

	// (a) An Amazon EventBridge event whose detail is the sample request.
	sample := requestedSample(t)
	var ce struct{ Data json.RawMessage }
	if err := json.Unmarshal(sample, &ce); err != nil || len(ce.Data) == 0 {
		t.Fatalf("sample request: %v", err)
	}
	const source, id = "com.example.netops", "7f1c0e6a-2b8d-4f0e-9c3a-5d6e7f809102"
	event, err := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": events.TypeRequested, "source": source,
		"account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": "eu-west-1",
		"resources": []string{}, "detail": ce.Data,
	})
	if err != nil {
		t.Fatal(err)
	}
	type results struct {
		Results []struct{ Source, Id, State, VpnGatewayId string }
	}
	answer := func(status int, body []byte) results {
		t.Helper()
		var out results
		if status != http.StatusOK || json.Unmarshal(body, &out) != nil || len(out.Results) != 1 {
			t.Fatalf("provision answered %d %s, want 200 and one result", status, body)
		}
		return out
	}
	out := answer(provision.invoke(t, event))
	r := out.Results[0]
	if r.State != "pending" || r.VpnGatewayId == "" || r.Source != source || r.Id != id {
		t.Fatalf("provision answered %+v, want pending with a gateway, for %s %s", r, source, id)
	}
	gws := p.api.Gateways()
	if len(gws) != 1 {
		t.Fatalf("emulator holds %d gateways, want 1", len(gws))
	}
	lambdaPublished(t, provision, events.TypeAccepted, r.VpnGatewayId)

	// EventBridge delivers at least once: the same event again is the same
	// request, answered with the same gateway.
	again := answer(provision.invoke(t, event)).Results[0]
	if again.VpnGatewayId != r.VpnGatewayId {
		t.Fatalf("redelivery answered gateway %q, want %q", again.VpnGatewayId, r.VpnGatewayId)
	}
	if n := len(p.api.Gateways()); n != 1 {
		t.Fatalf("after a redelivery the emulator holds %d gateways, want 1", n)
	}

	// (b) Scheduled events for reconcile. The emulator makes the gateway
	// active after a millisecond.
	time.Sleep(20 * time.Millisecond)
	type report struct {
		Claimed       int            `json:"claimed"`
		Active        int            `json:"active"`
		APICalls      int            `json:"apiCalls"`
		CallsByRegion map[string]int `json:"callsByRegion"`
	}
	tick := func(detail string) report {
		t.Helper()
		status, body := reconcile.invoke(t, lambdaScheduled(detail))
		var rep report
		if status != http.StatusOK || json.Unmarshal(body, &rep) != nil {
			t.Fatalf("reconcile with detail %s answered %d %s, want 200 and a report", detail, status, body)
		}
		if strings.Contains(string(body), "errorMessage") {
			t.Fatalf("reconcile with detail %s answered an error: %s", detail, body)
		}
		return rep
	}
	// The detail's regions are the tick's: another region leaves it pending.
	if rep := tick(`{"regions":["cn-shanghai"]}`); rep.Active != 0 || rep.APICalls != 0 {
		t.Fatalf("a tick limited to cn-shanghai reported %+v, want no call and nothing active", rep)
	}
	rep := tick(`{"regions":["cn-hangzhou"]}`)
	if rep.Active != 1 || rep.APICalls != 1 || rep.CallsByRegion["cn-hangzhou"] != 1 {
		t.Fatalf("a tick for cn-hangzhou reported %+v, want 1 active in 1 call there", rep)
	}
	lambdaPublished(t, reconcile, events.TypeActive, r.VpnGatewayId)

	// A detail the function cannot use is answered through Lambda's error
	// path, naming it; the function keeps serving, and {} runs with the
	// defaults (all regions, nothing left to do).
	status, body := reconcile.invoke(t, lambdaScheduled(`{"region":"cn-hangzhou"}`))
	var fnErr struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(body, &fnErr); err != nil || !strings.Contains(fnErr.ErrorMessage, "scheduled event detail") {
		t.Fatalf("a bad detail answered %d %s, want a function error naming the detail", status, body)
	}
	if rep := tick(`{}`); rep.Claimed != 0 || rep.Active != 0 {
		t.Fatalf("a tick with defaults after the gateway settled reported %+v, want nothing to do", rep)
	}
}

// TestLambdaRIEIsCached: a second lookup finds the binary the first built
// (or found) under the user's cache directory, so a warm machine does not
// rebuild it.
func TestLambdaRIEIsCached(t *testing.T) {
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("no user cache directory (%v): nothing is cached", err)
	}
	first := lambdaRIE(t)
	if want := filepath.Join(cache, "vpngw-rie", lambdaRIEVersion, "aws-lambda-rie"); first != want {
		t.Fatalf("RIE at %s, want %s", first, want)
	}
	fi, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	second := lambdaRIE(t)
	fi2, err := os.Stat(second)
	if err != nil || second != first || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Fatalf("second lookup %s (%v), want the cached %s unchanged", second, err, first)
	}
}

// functionURLEvent is what Lambda hands a function behind a function URL
// (payload format 2.0): header names in lower case, timeEpoch a number.
func functionURLEvent(t *testing.T, body []byte, headers map[string]string) []byte {
	t.Helper()
	h := map[string]string{"content-type": "application/cloudevents+json", "host": "abc.lambda-url.eu-west-1.on.aws"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	b, err := json.Marshal(map[string]any{
		"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": h,
		"requestContext": map[string]any{
			"accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws", "domainPrefix": "abc",
			"http":      map[string]string{"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "curl/8"},
			"requestId": "0f3c-1", "routeKey": "$default", "stage": "$default", "time": "25/Nov/2026:10:00:00 +0000", "timeEpoch": 1795600000000,
		},
		"body": base64.StdEncoding.EncodeToString(body), "isBase64Encoded": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The webhook binary behind a Lambda function URL: a bad or stale signature
// is answered 401 and creates nothing, a signed request 202 and one gateway,
// the same signature again 401.
func TestLambdaWebhookBehindAFunctionURL(t *testing.T) {
	rie := lambdaRIE(t)
	p := lambdaNewPlatform(t)
	p.env = append(p.env, "VPNGW_WEBHOOK_SECRET="+webhookSecret, "VPNGW_WEBHOOK_SECRET_SOURCES=*")
	fn := p.start(t, rie, "webhook")
	body := requestedSample(t)
	call := func(headers map[string]string) lambdaevents.LambdaFunctionURLResponse {
		t.Helper()
		status, b := fn.invoke(t, functionURLEvent(t, body, headers))
		var out lambdaevents.LambdaFunctionURLResponse
		if status != http.StatusOK || json.Unmarshal(b, &out) != nil || out.StatusCode == 0 {
			t.Fatalf("webhook answered %d %s, want a function URL response", status, b)
		}
		return out
	}
	webhookAuthScenario(t, body, func(h map[string]string) (int, string) {
		r := call(h)
		return r.StatusCode, r.Body
	}, func() int { return len(p.api.Gateways()) })
}
