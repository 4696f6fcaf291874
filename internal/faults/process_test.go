package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/runtime/fcapi"
)

// buildFunction compiles ./functions/<name> as `make build` does (static,
// trimmed paths).
func buildFunction(t testing.TB, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-tags", "sqlite", "-trimpath", "-o", bin, "github.com/vpngw/vpngw/functions/"+name) // SQLite: internal/app/sqlite.go
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// proc is one function instance: a process of a built binary, served by a
// runtime API server of its own that outlives it, so that a restarted
// process picks up where the killed one stopped (invocations it had taken
// are lost with it, as on the platform).
type proc struct {
	name string
	bin  string
	env  []string
	rt   *fcapi.Server
	log  *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	kills  int
}

func startProc(t testing.TB, name, bin string, env []string, logDir string) *proc {
	t.Helper()
	rt, err := fcapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, bin: bin, env: append([]string{"FC_RUNTIME_API=" + rt.Addr()}, env...), rt: rt, log: log}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		if p.cmd != nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		p.mu.Unlock()
		rt.Close()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("%s (killed %d times), last log lines:\n%s", name, p.kills, lastLines(withoutInvokeLines(string(b)), 40))
		}
	})
	return p
}

func (p *proc) start() error {
	cmd := exec.Command(p.bin)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	return nil
}

// kill sends SIGKILL, waits for the process to die, and starts it again.
func (p *proc) kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.exited
	p.kills++
	fmt.Fprintf(p.log, "=== SIGKILL at %s, restarting\n", time.Now().Format(time.RFC3339Nano))
	return p.start()
}

// invoke hands payload to the instance and waits for its answer, for the
// function's timeout and a little more: an instance killed mid-invocation
// never answers, and the platform then treats the invocation as failed.
func (p *proc) invoke(ctx context.Context, payload []byte, timeout time.Duration) error {
	_, err := p.call(ctx, payload, timeout)
	return err
}

// call is invoke returning the function's answer.
func (p *proc) call(ctx context.Context, payload []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	res, err := p.rt.Invoke(ctx, fcapi.Invocation{
		Payload: payload, Timeout: timeout,
		AccessKeyID: stsKeyID, AccessKeySecret: stsSecret, SecurityToken: stsToken,
		Region: "cn-hangzhou", AccountID: "123456789", FunctionName: "vpngw-" + p.name,
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %v", p.name, errNoAnswer, err)
	case res.Error != nil:
		return nil, fmt.Errorf("%s: %s: %s", p.name, res.Error.Type, res.Error.Message)
	}
	return res.Payload, nil
}

// maxKills is how many times one run kills a process.
const maxKills = 6

// runProcesses runs the built provision binary as two instances and the
// reconcile binary as one, each under its own runtime API server, all
// sharing one store (PostgreSQL when VPNGW_TEST_POSTGRES_URL is set, else
// one SQLite file), and kills one of them with SIGKILL at random moments.
func runProcesses(t *testing.T, sc scenario, sz size) report {
	bins := t.TempDir()
	provisionBin, reconcileBin := buildFunction(t, bins, "provision"), buildFunction(t, bins, "reconcile")
	h := newHarness(t, sc, sz, postgresURL(t))
	var env []string
	for k, v := range h.env() {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	env = append(env, "PATH="+os.Getenv("PATH"))
	logDir := t.TempDir()
	provs := []*proc{
		startProc(t, "provision-1", provisionBin, env, logDir),
		startProc(t, "provision-2", provisionBin, env, logDir),
	}
	rec := startProc(t, "reconcile-1", reconcileBin, env, logDir)
	all := append(append([]*proc(nil), provs...), rec)

	timer := []byte(`{"triggerTime":"2026-11-25T10:00:00Z","triggerName":"reconcile","payload":""}`)
	tk := startTicker(300*time.Millisecond, 2, func(ctx context.Context) (reconcile.Report, error) {
		var rep reconcile.Report
		out, err := rec.call(ctx, timer, reconcileTimeout)
		if err == nil {
			err = json.Unmarshal(out, &rep)
		}
		return rep, err
	})
	stopTicking := sync.OnceValue(func() *ticker { tk.stop(); return tk })
	defer stopTicking()

	// The killer: at maxKills random points of the run (by the share of
	// payloads delivered), each a little jittered, one process is killed and
	// started again; the first kill hits a provision instance, the second
	// the reconcile one, so that both are always hit.
	rng := rand.New(rand.NewPCG(sz.seed, 7))
	var at []int
	for range maxKills {
		at = append(at, 1+rng.IntN(len(h.payloads)-1))
	}
	sort.Ints(at)
	var (
		kills  atomic.Int64
		killMu sync.Mutex
		killer sync.WaitGroup
	)
	kill := func(n int) {
		defer killer.Done()
		killMu.Lock()
		defer killMu.Unlock()
		time.Sleep(time.Duration(rng.Int64N(int64(50 * time.Millisecond))))
		victim := all[rng.IntN(len(all))]
		switch n {
		case 0:
			victim = provs[rng.IntN(len(provs))]
		case 1:
			victim = rec
		}
		if err := victim.kill(); err != nil {
			t.Error(err)
			return
		}
		kills.Add(1)
	}
	var next atomic.Int64
	progress := func(done, total int) {
		for {
			n := next.Load()
			if int(n) >= len(at) || done < at[n] || !next.CompareAndSwap(n, n+1) {
				return
			}
			killer.Add(1)
			go kill(int(n))
		}
	}

	d := &driver{
		workers: 16, maxAttempts: 40,
		invoke: func(ctx context.Context, payload []byte) error {
			return provs[rand.IntN(len(provs))].invoke(ctx, payload, provisionTimeout)
		},
		progress: progress,
	}
	d.run(context.Background(), h.payloads)
	var rep report
	h.finish(&rep, d, func() *ticker {
		killer.Wait()
		rep.Kills = int(kills.Load())
		return stopTicking()
	})
	return rep
}

// withoutInvokeLines drops the runtime SDK's "FC Invoke Start/End" lines,
// which would bury the function's own.
func withoutInvokeLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "FC Invoke ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
