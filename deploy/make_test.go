package deploy_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// make test ends by saying which suites it skipped for lack of a server URL
// and how to run them, so that nobody believes PostgreSQL was tested when it
// was not. Every server variable of the README's tests table is covered.
func TestMakeTestSaysWhichSuitesItSkipped(t *testing.T) {
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
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile("(?m)^\\| `(VPNGW_TEST_[A-Z]+_URL)` \\|").FindAllStringSubmatch(string(readme), -1)
	if len(vars) < 4 {
		t.Fatalf("README's tests table lists %d server URLs, want at least 4", len(vars))
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
	if !strings.Contains(none, "README.md, Tests") {
		t.Errorf("make skipped does not say how to run them:\n%s", none)
	}
	one := run(vars[0][1])
	if strings.Contains(one, vars[0][1]) {
		t.Errorf("with %s set, make skipped still names it:\n%s", vars[0][1], one)
	}
}
