package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// bin is vpngwctl, built once for the package's tests: every test runs
// the binary an operator runs.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vpngwctl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "vpngwctl")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/vpngw/vpngw/cmd/vpngwctl").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build vpngwctl: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run is one run of the binary: its exit status, stdout and stderr.
type run struct {
	code        int
	out, errOut string
}

func (r run) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
}

// ctl runs vpngwctl with env (and PATH) and args, from the repository root
// so that deploy/ paths read as an operator types them.
func ctl(t *testing.T, env []string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vpngwctl %s: %v", strings.Join(args, " "), err)
	}
	return run{code, out.String(), errOut.String()}
}

// ctlEnv is the functions' configuration of the stack, with the
// emulator's credentials: what vpngwctl reads.
func ctlEnv(s *apptest.Stack) []string {
	return s.Environ("ALIBABA_CLOUD_ACCESS_KEY_ID="+vpcsim.DefaultAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+vpcsim.DefaultAccessKeySecret)
}

// provision delivers a create request as EventBridge does.
func provision(t *testing.T, s *apptest.Stack, source, id string) error {
	t.Helper()
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": events.TypeRequested,
		"datacontenttype": "application/json",
		"data": map[string]any{
			"RegionId": "cn-hangzhou", "VpcId": "vpc-bp1vpngwdemo0000001", "Bandwidth": 10,
			"VSwitchId": "vsw-bp1vpngwdemo0000001", "DisasterRecoveryVSwitchId": "vsw-bp1vpngwdemo0000002",
			"Name": "ctl-" + id, "InstanceChargeType": "POSTPAY",
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := s.App.ProvisionHandler()(ctx, b)
	return err
}
