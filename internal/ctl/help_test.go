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

// A command given the wrong number of arguments, or an -o it does not
// know, is a usage error that says what is wrong and prints the command's
// usage; the arguments are checked before -o.
func TestArgumentAndOutputErrors(t *testing.T) {
	for _, c := range []struct {
		args  []string
		usage string // the start of the usage printed
		want  string // the error line
	}{
		{[]string{"requests", "list", "x"}, "usage: vpngwctl requests list", `vpngwctl requests list: unexpected argument "x": list takes only flags`},
		{[]string{"requests", "list", "-o", "yaml", "x"}, "usage: vpngwctl requests list", `unexpected argument "x": list takes only flags`},
		{[]string{"requests", "list", "-o", "yaml"}, "usage: vpngwctl requests list", `vpngwctl requests list: -o "yaml": want text or json`},
		{[]string{"requests", "show"}, "usage: vpngwctl requests show", "name the request: <source> <id>, or <gateway id>"},
		{[]string{"requests", "show", "a", "b", "c"}, "usage: vpngwctl requests show", "name the request: <source> <id>, or <gateway id>"},
		{[]string{"requests", "show", "-o", "yaml", "a"}, "usage: vpngwctl requests show", `-o "yaml": want text or json`},
		{[]string{"requests", "redrive"}, "usage: vpngwctl requests redrive", "name the request: <source> <id>, or <gateway id>"},
		{[]string{"requests", "cancel", "--reason", "wrong VPC"}, "usage: vpngwctl requests cancel", "name the request: <source> <id>, or <gateway id>"},
		{[]string{"requests", "cancel"}, "usage: vpngwctl requests cancel", "--reason is required"},
		{[]string{"outbox", "status", "x"}, "usage: vpngwctl outbox status", "status takes no arguments"},
		{[]string{"outbox", "status", "-o", "yaml"}, "usage: vpngwctl outbox status", `-o "yaml": want text or json`},
		{[]string{"outbox", "replay"}, "usage: vpngwctl outbox replay", "name one sink, as vpngwctl outbox status prints it"},
		{[]string{"policy", "lint"}, "usage: vpngwctl policy lint", "name one policy file"},
		{[]string{"policy", "test", "a", "b", "c"}, "usage: vpngwctl policy test", "name a policy file and a cases file"},
		{[]string{"policy", "test", "-o", "yaml", "a", "b"}, "usage: vpngwctl policy test", `-o "yaml": want text or json`},
		{[]string{"tail", "x"}, "usage: vpngwctl tail", "tail takes only flags"},
		{[]string{"tail", "-o", "yaml"}, "usage: vpngwctl tail", `-o "yaml": want text or json`},
		{[]string{"orphans", "x"}, "usage: vpngwctl orphans", `unexpected argument "x": orphans takes only flags`},
		{[]string{"orphans", "-o", "yaml"}, "usage: vpngwctl orphans", `-o "yaml": want text or json`},
		{[]string{"migrate", "x"}, "usage: vpngwctl migrate", "vpngwctl migrate: migrate takes no arguments"},
		{[]string{"schema", "x"}, "usage: vpngwctl schema", "vpngwctl schema: schema takes no arguments"},
	} {
		r := ctl(t, nil, c.args...)
		line, usage, _ := strings.Cut(r.errOut, "\n\n")
		if r.code != 2 || !strings.Contains(line, c.want) || !strings.HasPrefix(usage, c.usage) || r.out != "" {
			t.Errorf("vpngwctl %s: want exit 2, %q and the usage; got %v", strings.Join(c.args, " "), c.want, r)
		}
	}
}
