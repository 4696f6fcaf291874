package apptest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/runtime/fcapi"
)

// BuildFunction compiles functions/<name> into dir as `make build` does
// (static, trimmed paths), with SQLite, which shipped binaries do not link
// (internal/app/sqlite.go): the tests run the binaries on an SQLite file.
// It returns the binary's path.
func BuildFunction(tb testing.TB, dir, name string) string {
	tb.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-tags", "sqlite", "-trimpath", "-o", bin, "github.com/vpngw/vpngw/functions/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// Function is one instance of a function binary, run as Function Compute
// runs it: FC_RUNTIME_API points at a runtime API server of its own, which
// outlives the process, so that a restarted process picks up where the
// killed one stopped (invocations it had taken are lost with it, as on the
// platform).
type Function struct {
	Name string
	// RT is the runtime API server the process takes its invocations from.
	RT *fcapi.Server

	bin string
	env []string
	out io.Writer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	kills  int
}

// StartFunction starts bin with env (and FC_RUNTIME_API) and its output
// going to out. At cleanup the process is killed and the runtime API
// closed.
func StartFunction(tb testing.TB, name, bin string, env []string, out io.Writer) *Function {
	tb.Helper()
	rt, err := fcapi.Start()
	if err != nil {
		tb.Fatal(err)
	}
	f := &Function{Name: name, RT: rt, bin: bin, env: append([]string{"FC_RUNTIME_API=" + rt.Addr()}, env...), out: out}
	tb.Cleanup(func() {
		f.mu.Lock()
		if f.cmd != nil {
			_ = f.cmd.Process.Kill()
			<-f.exited
		}
		f.mu.Unlock()
		rt.Close()
	})
	if err := f.start(); err != nil {
		tb.Fatal(err)
	}
	return f
}

func (f *Function) start() error {
	cmd := exec.Command(f.bin)
	cmd.Env = f.env
	cmd.Stdout, cmd.Stderr = f.out, f.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", f.Name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	f.cmd, f.exited = cmd, exited
	return nil
}

// PID is the running process's id.
func (f *Function) PID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cmd.Process.Pid
}

// Kill sends SIGKILL, waits for the process to die, and starts it again.
func (f *Function) Kill() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", f.Name, err)
	}
	<-f.exited
	// Before the new process polls: the dead one's open poll must not
	// take the next invocation.
	f.RT.InstanceRestarted()
	f.kills++
	fmt.Fprintf(f.out, "=== SIGKILL at %s, restarting\n", time.Now().Format(time.RFC3339Nano))
	return f.start()
}

// Kills is how often Kill killed the process.
func (f *Function) Kills() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kills
}

// Invoke hands one invocation to the instance and waits for its answer.
func (f *Function) Invoke(ctx context.Context, inv fcapi.Invocation) (fcapi.Result, error) {
	return f.RT.Invoke(ctx, inv)
}
