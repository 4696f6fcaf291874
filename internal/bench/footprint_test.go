package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/runtime/fcapi"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

const (
	// burst is how many invocations one instance is handed at once.
	burst = 100
	// burstAPILatency delays every emulator answer in the footprint
	// benchmark. Over loopback an answer takes well under a millisecond,
	// so without it the invocations would mostly run one after another
	// and the figure would not be memory under 100 concurrent invocations;
	// the emulator's max-inflight metric shows how many overlapped.
	burstAPILatency = 100 * time.Millisecond

	// The function role's STS credentials the runtime API hands over with
	// every invocation, and the only ones the emulator accepts here.
	stsKeyID  = "STS.benchfootprint"
	stsSecret = "bench-footprint-secret"
	stsToken  = "bench-footprint-token"
)

// buildFlags and buildEnv are the Makefile's BUILD_FLAGS and BUILD_ENV, but
// for the machine's own OS and architecture (the benchmark runs the
// binary), plus SQLite, which the benchmark's store is and shipped binaries
// do not link (internal/app/sqlite.go): on linux/amd64, the binary measured
// is the one `make package` zips with the SQLite driver added.
var (
	buildFlags = []string{"-tags", "lambda.norpc,sqlite", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}
	buildEnv   = []string{"CGO_ENABLED=0", "GOAMD64=v1", "GOFLAGS="}
)

var built = struct {
	sync.Mutex
	dir  string
	bins map[string]string
}{bins: map[string]string{}}

// buildFunction builds functions/<name> as `make build` does once per
// process and returns the binary's path.
func buildFunction(tb testing.TB, name string) string {
	tb.Helper()
	built.Lock()
	defer built.Unlock()
	if p := built.bins[name]; p != "" {
		return p
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("the go command is needed to build functions/%s: %v", name, err)
	}
	if built.dir == "" {
		d, err := os.MkdirTemp("", "vpngw-bench-bin-")
		if err != nil {
			tb.Fatal(err)
		}
		built.dir = d
		atExit.Add(func() { os.RemoveAll(d) })
	}
	out := filepath.Join(built.dir, name)
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", out, "./functions/"+name)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = filepath.Join("..", "..") // the module root, from internal/bench
	cmd.Env = append(os.Environ(), buildEnv...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build ./functions/%s: %v\n%s", name, err, msg)
	}
	built.bins[name] = out
	return out
}

// procStatus reads the kB figures of fields (VmHWM, VmRSS, ...) from
// /proc/<pid>/status.
func procStatus(pid int, fields ...string) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("read the process's memory: %w (this needs Linux's /proc)", err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range fields {
			if name != want {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB")), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/%d/status %s: %q: %w", pid, name, val, err)
			}
			out[name] = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, want := range fields {
		if _, ok := out[want]; !ok {
			return nil, fmt.Errorf("/proc/%d/status has no %s", pid, want)
		}
	}
	return out, nil
}

// instanceRun is what one instance's life measured.
type instanceRun struct {
	first      time.Duration   // process start to the first invocation answered
	firstHWM   int64           // VmHWM after the first invocation, kB
	burst      []time.Duration // each of the burst's invocations
	hwm, rss   int64           // VmHWM and VmRSS after the burst, kB
	burstSpent time.Duration   // the whole burst
}

// footprintEnv is what runs beside the function: the emulator and a NATS
// server, shared by every instance of a benchmark run.
type footprintEnv struct {
	bin   string
	emu   *emulator
	stack *apptest.Stack
	seq   int
}

// runInstance starts the function binary as Function Compute does
// (FC_RUNTIME_API pointing at a runtime API server), with a fresh SQLite
// store, hands it one request, then burst requests at once, reads its
// memory, and stops it.
func (e *footprintEnv) runInstance() (instanceRun, error) {
	var r instanceRun
	dir, err := os.MkdirTemp("", "vpngw-bench-instance-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	rt, err := fcapi.Start()
	if err != nil {
		return r, err
	}
	defer rt.Close()

	cmd := exec.Command(e.bin)
	// The stack's configuration, with a fresh SQLite file for this
	// instance (the last value of a variable is the one taken).
	cmd.Env = e.stack.Environ("FC_RUNTIME_API="+rt.Addr(), "TMPDIR="+dir,
		"VPNGW_STORE_URL=sqlite://"+filepath.Join(dir, "vpngw.db"))
	logs := &testenv.SyncBuffer{Max: 8 << 10}
	ctx, stop := context.WithTimeout(context.Background(), 2*time.Minute)
	defer stop()

	start := time.Now()
	// An instance that dies ends every invocation waiting on it at once,
	// with its last words as the cause.
	ctx, kill, err := fcapi.Run(ctx, cmd, logs)
	if err != nil {
		return r, fmt.Errorf("start %s: %w", e.bin, err)
	}
	defer kill()
	invoke := func(id string) (time.Duration, error) {
		t0 := time.Now()
		res, err := rt.Invoke(ctx, fcapi.Invocation{
			Payload: requestEvent(id), Timeout: time.Minute,
			AccessKeyID: stsKeyID, AccessKeySecret: stsSecret, SecurityToken: stsToken,
			Region: benchRegion, AccountID: "1234567890123456", FunctionName: "provision",
		})
		d := time.Since(t0)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				err = cause
			}
			return d, fmt.Errorf("request %s: %w", id, err)
		}
		if res.Error != nil {
			return d, fmt.Errorf("request %s: the function failed: %s: %s; its output ends with:\n%s", id, res.Error.Type, res.Error.Message, logs.String())
		}
		var resp app.ProvisionResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil {
			return d, fmt.Errorf("request %s: answer %s: %w", id, res.Payload, err)
		}
		return d, checkAccepted(id, resp.Results)
	}

	// The API answers at once for the cold start, and slowly for the burst,
	// so that first-ns is the instance's own start-up (see burstAPILatency).
	if err := e.emu.api.SetFaults(vpcsim.Faults{}); err != nil {
		return r, err
	}
	e.seq++
	prefix := fmt.Sprintf("fp-%d-%d", runSeq.Add(1), e.seq)
	if _, err := invoke(prefix + "-first"); err != nil {
		return r, err
	}
	r.first = time.Since(start)
	m, err := procStatus(cmd.Process.Pid, "VmHWM")
	if err != nil {
		return r, err
	}
	r.firstHWM = m["VmHWM"]

	if err := e.emu.api.SetFaults(vpcsim.Faults{Latency: burstAPILatency}); err != nil {
		return r, err
	}
	r.burst = make([]time.Duration, burst)
	errs := make([]error, burst)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.burst[i], errs[i] = invoke(fmt.Sprintf("%s-%03d", prefix, i))
		}()
	}
	wg.Wait()
	r.burstSpent = time.Since(t0)
	for _, err := range errs {
		if err != nil {
			return r, err
		}
	}
	m, err = procStatus(cmd.Process.Pid, "VmHWM", "VmRSS")
	if err != nil {
		return r, err
	}
	r.hwm, r.rss = m["VmHWM"], m["VmRSS"]
	return r, nil
}

// BenchmarkFootprint/provision: one instance's life per op, the binary
// `make package` ships: process start to the first request answered
// (first-ns: the runtime, the configuration, the store's migration, the
// first NATS connection and SDK client, one CreateVpnGateway), then 100
// requests handed over at once; peak (VmHWM) and resident (VmRSS) memory
// after them, and their latencies.
func BenchmarkFootprint(b *testing.B) {
	b.Run("provision", func(b *testing.B) {
		e := &footprintEnv{bin: buildFunction(b, "provision"), emu: &emulator{}}
		e.stack = apptest.New(b, apptest.WithWallClock(), apptest.WithoutApp(),
			apptest.WithEmulator(emulatorDefaults([]vpcsim.Option{vpcsim.WithSTSToken(stsKeyID, stsSecret, stsToken, time.Time{})})...),
			apptest.WithEmulatorHandler(e.emu.tap), apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": benchPolicy}))
		e.emu.api, e.emu.url = e.stack.API, e.stack.APIURL

		var runs []instanceRun
		for b.Loop() {
			r, err := e.runInstance()
			if err != nil {
				b.Fatal(err)
			}
			runs = append(runs, r)
		}
		var first, spent time.Duration
		var firstHWM, hwm, rss int64
		var all []time.Duration
		for _, r := range runs {
			first += r.first
			spent += r.burstSpent
			firstHWM += r.firstHWM
			hwm += r.hwm
			rss += r.rss
			all = append(all, r.burst...)
		}
		k := float64(len(runs))
		b.ReportMetric(float64(first)/k, "first-ns")
		b.ReportMetric(float64(firstHWM)/1024/k, "first-hwm-MiB")
		b.ReportMetric(float64(hwm)/1024/k, "hwm-MiB")
		b.ReportMetric(float64(rss)/1024/k, "rss-MiB")
		b.ReportMetric(float64(testenv.Percentile(all, 50)), "burst-p50-ns")
		b.ReportMetric(float64(testenv.Percentile(all, 99)), "burst-p99-ns")
		b.ReportMetric(float64(spent)/k, "burst-ns")
		b.ReportMetric(float64(e.emu.maxInFlight()), "max-inflight")
	})
}
