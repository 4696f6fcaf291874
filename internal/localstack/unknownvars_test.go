package localstack

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/testenv"
)

// `make run` with a typo in a variable's name still starts (it is for
// trying things) but says so loudly: a log line and the banner's first line
// name the variable and the one it most likely meant.
func TestLocalStackWarnsOfUnknownVariable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	environ := []string{
		"VPNGW_DATA_DIR=" + t.TempDir(), "VPNGW_HTTP_ADDR=127.0.0.1:0", "VPNGW_EMULATOR_ADDR=127.0.0.1:0",
		"VPNGW_NATS_PORT=" + strconv.Itoa(natsPort), "VPNGW_POLICY_FILE=deploy/policy.sample.yaml",
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &testenv.SyncBuffer{}, &testenv.SyncBuffer{}
	done := make(chan int)
	go func() { done <- Run(ctx, environ, stdout, stderr) }()
	for i := 0; i < 400 && !strings.Contains(stdout.String(), "Ctrl-C"); i++ {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("local stack exited %d:\n%s", code, stderr)
		case <-time.After(25 * time.Millisecond):
		}
	}
	cancel()
	<-done
	const msg = "VPNGW_POLICY_FILE is not a variable vpngw reads; did you mean VPNGW_POLICY?"
	if !strings.Contains(stderr.String(), msg) {
		t.Errorf("log does not warn %q:\n%s", msg, stderr)
	}
	banner := strings.TrimLeft(stdout.String(), "\n")
	if !strings.HasPrefix(banner, "WARNING: "+msg) {
		t.Errorf("banner does not start with the warning:\n%s", banner)
	}
}

// VPNGW_VPC_ENDPOINT without a key: every request would retry, then fail
// MissingCredentials, behind a banner saying "up". The stack refuses to
// start instead, naming the variables to set.
func TestLocalStackRefusesEndpointWithoutCredentials(t *testing.T) {
	cfg := localConfig(t, map[string]string{"VPNGW_VPC_ENDPOINT": "http://127.0.0.1:1"})
	l, err := Start(context.Background(), cfg, logging.New(io.Discard, "text", nil), io.Discard)
	if err == nil {
		l.Close()
		t.Fatal("the local stack started with VPNGW_VPC_ENDPOINT and no access key")
	}
	for _, name := range []string{"VPNGW_VPC_ENDPOINT", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("start-up error does not name %s: %v", name, err)
		}
	}
}
