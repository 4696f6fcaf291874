package ctl

import (
	"context"
	"fmt"
	"strings"
)

// runCompletion prints a completion script built from the command tree, so
// that it names every command there is.
func runCompletion(_ context.Context, c *cli, args []string) int {
	cmd := find(commands(), "completion")
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(c.Stdout, cmd.usage)
		return ExitOK
	}
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		return c.usageError(cmd, "want one shell: bash or zsh")
	}
	root := commands()
	var top []string
	var cases strings.Builder
	for _, s := range root.sub {
		top = append(top, s.name)
		if len(s.sub) > 0 {
			var subs []string
			for _, x := range s.sub {
				subs = append(subs, x.name)
			}
			fmt.Fprintf(&cases, "    %s) words=%q ;;\n", s.name, strings.Join(subs, " "))
		}
	}
	fmt.Fprintf(&cases, "    completion) words=%q ;;\n", "bash zsh")
	if args[0] == "zsh" {
		// zsh runs bash completion functions through bashcompinit.
		fmt.Fprint(c.Stdout, "#compdef vpngwctl\nautoload -U +X bashcompinit && bashcompinit\n")
	}
	fmt.Fprintf(c.Stdout, `_vpngwctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    words=%q
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case ${COMP_WORDS[1]} in
%s    esac
  fi
  if [ -z "$words" ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F _vpngwctl vpngwctl
`, strings.Join(top, " "), cases.String())
	return ExitOK
}
