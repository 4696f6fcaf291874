package ctl_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every command answers --help with its usage and examples (exit status
// 0); an unknown command is a usage error that lists the known ones.
func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	for _, args := range [][]string{
		{}, {"requests"}, {"requests", "list"}, {"requests", "show"}, {"requests", "redrive"}, {"requests", "cancel"},
		{"outbox"}, {"outbox", "status"}, {"outbox", "replay"}, {"policy"}, {"policy", "lint"}, {"policy", "test"},
		{"tail"}, {"send"}, {"migrate"}, {"schema"}, {"completion"}, {"history"},
	} {
		r := ctl(t, nil, append(args, "--help")...)
		if r.code != 0 || !strings.HasPrefix(r.out, "usage: vpngwctl") || !strings.Contains(r.out, "example") || !strings.Contains(r.out, "exit status") {
			t.Errorf("vpngwctl %s --help: %v", strings.Join(args, " "), r)
		}
	}
	r := ctl(t, nil, "request", "list")
	if r.code != 2 || !strings.Contains(r.errOut, `unknown command "request": did you mean "requests"?`) {
		t.Errorf("unknown command: %v", r)
	}
	r = ctl(t, nil)
	if r.code != 2 || !strings.Contains(r.errOut, "usage: vpngwctl <command>") {
		t.Errorf("no command: %v", r)
	}
}

// The completion scripts are valid shell and complete commands and
// subcommands.
func TestCompletion(t *testing.T) {
	r := ctl(t, nil, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.out, "complete -F _vpngwctl vpngwctl") {
		t.Fatalf("completion bash: %v", r)
	}
	script := filepath.Join(t.TempDir(), "vpngwctl.bash")
	if err := os.WriteFile(script, []byte(r.out), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", "-c", `source "$1"; COMP_WORDS=(vpngwctl requests re); COMP_CWORD=2; _vpngwctl; echo "${COMPREPLY[@]}";
		COMP_WORDS=(vpngwctl ou); COMP_CWORD=1; _vpngwctl; echo "${COMPREPLY[@]}"`, "bash", script).CombinedOutput()
	if err != nil || string(out) != "redrive\noutbox\n" {
		t.Errorf("bash completion: %v %q", err, out)
	}
	if r := ctl(t, nil, "completion", "zsh"); r.code != 0 || !strings.HasPrefix(r.out, "#compdef vpngwctl") {
		t.Errorf("completion zsh: %v", r)
	}
	if r := ctl(t, nil, "completion", "fish"); r.code != 2 || !strings.Contains(r.errOut, "want one shell: bash or zsh") {
		t.Errorf("completion fish: %v", r)
	}
}
