package fcapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/runtime/fcapi"
)

// The test binary stands in for a function: run with FCAPI_TEST_CHILD set,
// it says its last words and exits, or waits to be killed.
func TestMain(m *testing.M) {
	switch os.Getenv("FCAPI_TEST_CHILD") {
	case "exit":
		fmt.Println("last words")
		os.Exit(3)
	case "wait":
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func child(mode string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FCAPI_TEST_CHILD="+mode)
	return cmd
}

// An instance that exits ends the context at once, its cause quoting the
// exit and the output.
func TestRunEndsTheContextWhenTheFunctionExits(t *testing.T) {
	out := &lockedBuffer{}
	ctx, kill, err := fcapi.Run(context.Background(), child("exit"), out)
	if err != nil {
		t.Fatal(err)
	}
	defer kill()
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatal("the context did not end when the function exited")
	}
	cause := context.Cause(ctx).Error()
	if !strings.Contains(cause, "the function exited (exit status 3)") || !strings.Contains(cause, "its output ends with:\nlast words") {
		t.Errorf("cause = %q, want the exit and the output", cause)
	}
}

// kill ends a running instance and returns once it is gone; the context
// ends with it.
func TestRunKill(t *testing.T) {
	cmd := child("wait")
	ctx, kill, err := fcapi.Run(context.Background(), cmd, &lockedBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the context ended while the function runs: %v", context.Cause(ctx))
	}
	kill()
	if cmd.ProcessState == nil {
		t.Error("kill returned before the process was gone")
	}
	if ctx.Err() == nil {
		t.Error("the context did not end with the process")
	}
}

func TestRunReportsAFunctionThatDoesNotStart(t *testing.T) {
	_, _, err := fcapi.Run(context.Background(), exec.Command("/nonexistent/function"), &lockedBuffer{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run = %v, want the start error", err)
	}
}
