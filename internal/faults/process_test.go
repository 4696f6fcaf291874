package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/runtime/fcapi"
	"github.com/vpngw/vpngw/internal/testenv"
)

// proc is one function instance (apptest.Function), its output in a file
// that the test shows when it failed.
type proc struct {
	*apptest.Function
}

func startProc(t testing.TB, name, bin string, env []string, logDir string) *proc {
	t.Helper()
	log, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{}
	// Registered first, so that it runs after the process is killed.
	t.Cleanup(func() {
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("%s (killed %d times), last log lines:\n%s", name, p.Kills(), lastLines(withoutInvokeLines(string(b)), 40))
		}
	})
	p.Function = apptest.StartFunction(t, name, bin, env, log)
	return p
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
	res, err := p.Invoke(ctx, fcapi.Invocation{
		Payload: payload, Timeout: timeout,
		AccessKeyID: stsKeyID, AccessKeySecret: stsSecret, SecurityToken: stsToken,
		Region: "cn-hangzhou", AccountID: "123456789", FunctionName: "vpngw-" + p.Name,
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %v", p.Name, errNoAnswer, err)
	case res.Error != nil:
		return nil, fmt.Errorf("%s: %s: %s", p.Name, res.Error.Type, res.Error.Message)
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
	provisionBin, reconcileBin := apptest.BuildFunction(t, bins, "provision"), apptest.BuildFunction(t, bins, "reconcile")
	// One store for every instance: PostgreSQL when the test server is
	// named, else one SQLite file.
	storeKind := "sqlite"
	if os.Getenv(testenv.PostgresEnv) != "" {
		storeKind = "postgres"
	}
	h := newHarness(t, sc, sz, storeKind)
	env := h.stack.Environ()
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
		if err := victim.Kill(); err != nil {
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
