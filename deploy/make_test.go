package deploy_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/testenv"
)

// make test ends by saying which suites it skipped for lack of a server URL
// and how to run them, so that nobody believes PostgreSQL was tested when it
// was not. Every server variable of docs/TESTING.md's table is covered, and
// the message points at that page.
func TestMakeTestSaysWhichSuitesItSkipped(t *testing.T) {
	const testingDoc = "docs/TESTING.md"
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^test:.*\n(\t.*\n)*\t.*\$\(MAKE\) --no-print-directory skipped`).Match(mk) {
		t.Error("make test does not end with make skipped")
	}
	doc, err := os.ReadFile("../" + testingDoc)
	if err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile("(?m)^\\| `(VPNGW_TEST_[A-Z]+_URL)` \\|").FindAllStringSubmatch(string(doc), -1)
	if len(vars) < 4 {
		t.Fatalf("%s's tests table lists %d server URLs, want at least 4", testingDoc, len(vars))
	}
	run := func(set string) string {
		t.Helper()
		cmd := exec.Command("make", "-s", "--no-print-directory", "-C", "..", "skipped")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		if set != "" {
			cmd.Env = append(cmd.Env, set+"=x://y")
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make skipped: %v\n%s", err, out)
		}
		return string(out)
	}
	none := run("")
	for _, v := range vars {
		if !strings.Contains(none, "("+v[1]+" is not set)") {
			t.Errorf("with no server URL set, make skipped does not name %s:\n%s", v[1], none)
		}
	}
	if !strings.Contains(none, testingDoc) {
		t.Errorf("make skipped does not say how to run them:\n%s", none)
	}
	one := run(vars[0][1])
	if strings.Contains(one, vars[0][1]) {
		t.Errorf("with %s set, make skipped still names it:\n%s", vars[0][1], one)
	}
}

// Ctrl-C is how `make run` is stopped: the terminal sends SIGINT to make and
// everything it started. The stack says "stopping", and make does not
// report "make: *** Error 1", which made users think something failed.
func TestMakeRunStopsCleanlyOnCtrlC(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("make", "-C", "..", "run")
	cmd.Env = append(os.Environ(), "VPNGW_DATA_DIR="+t.TempDir(), "VPNGW_HTTP_ADDR=127.0.0.1:0",
		"VPNGW_EMULATOR_ADDR=127.0.0.1:0", "VPNGW_NATS_PORT="+strconv.Itoa(natsPort))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }()
	up := time.After(5 * time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops everything") {
		select {
		case err := <-done:
			t.Fatalf("make run ended before it was up (%v):\n%s", err, out.String())
		case <-up:
			t.Fatalf("make run not up after 5 minutes:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	// As the terminal does: SIGINT to the whole process group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// make itself ends by the SIGINT it was sent (as after any Ctrl-C,
	// the shell prints nothing for it); what must not appear is make
	// reporting the recipe as failed.
	err = <-done
	var ee *exec.ExitError
	interrupted := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT
	if (err != nil && !interrupted) || strings.Contains(out.String(), "make: ***") || !strings.Contains(out.String(), "stopping") {
		t.Fatalf("make run after Ctrl-C: %v\n%s", err, out.String())
	}
}
