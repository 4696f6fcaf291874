package fcapi

import (
	"context"
	"fmt"
	"io"
	"os/exec"
)

// Output is where a function's output goes: the process writes it while
// Run's watch reads it (String) when the process exits, so it must be safe
// for both at once; a buffer that keeps the end of the output will do.
type Output interface {
	io.Writer
	String() string
}

// Run starts cmd, a function binary whose Env points FC_RUNTIME_API at a
// Server, with its output going to out. The context it returns is ctx's,
// ended too when the process exits, with the exit and the end of out as
// its cause: an invocation waiting on an instance that died ends at once
// with the instance's last words. kill kills the process and waits for it;
// call it once, when done with the instance.
func Run(ctx context.Context, cmd *exec.Cmd, out Output) (_ context.Context, kill func(), _ error) {
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		cancel(fmt.Errorf("the function exited (%v); its output ends with:\n%s", err, out.String()))
		close(exited)
	}()
	return ctx, func() {
		_ = cmd.Process.Kill()
		<-exited
	}, nil
}
