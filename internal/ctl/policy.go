package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/vpngw/vpngw/internal/policy"
)

const lintUsage = `usage: vpngwctl policy lint FILE

Loads a policy file as the functions load it (VPNGW_POLICY) and prints every
problem, each with where it is and what is allowed; with none, it prints the
rules in the order they are tried.

examples:
  vpngwctl policy lint deploy/policy.sample.yaml

exit status: 0 the policy loads; 1 it has problems; 2 usage.
`

const testUsage = `usage: vpngwctl policy test [-v] [-o text|json] FILE CASES.jsonl

Decides every case of a cases file under the policy, as the provision use case
would (quotas applied to the usage the case gives), and compares each decision
with what the case expects: which rule decides (or none: denied by default),
allowed or denied, dry run, and the rules broken. It prints each mismatch,
naming the case and its line, and a count; -v prints every case.

A cases file holds one JSON object a line (lines starting with # are skipped):
  {"name": "ticketing request allowed",
   "action": "create",
   "requester": {"source": "https://tickets.example.com/queue/network",
                 "caller": "", "key": "", "chatUser": "",
                 "origin": {"bus": "", "route": "", "account": ""}},
   "request": {"RegionId": "cn-hangzhou", "VpcId": "vpc-...", ...},
   "usage": {"perDay": 0, "pending": 0},
   "expect": {"allowed": true, "rule": "ticketing", "dryRun": false,
              "violations": ["maxBandwidth/Bandwidth"]}}
(on one line). "action" is create when absent. docs/POLICY.md has the format.

examples:
  vpngwctl policy test deploy/policy.sample.yaml deploy/policy.sample.cases.jsonl
  vpngwctl policy test -o json my-policy.yaml my-cases.jsonl | jq '.[] | select(.OK | not)'

exit status: 0 every case decided as expected; 1 a case mismatched, or the
policy or cases file has problems; 2 usage.
`

func runPolicyLint(_ context.Context, c *cli, args []string) int {
	cmd := find(find(commands(), "policy"), "lint")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	if code, ok := c.parse(cmd, fs, args, want{1, 1, "name one policy file"}, nil); !ok {
		return code
	}
	p, err := policy.Load(fs.Arg(0))
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			for _, pr := range pe.Problems {
				fmt.Fprintf(c.Stdout, "%s: %s: %s\n", fs.Arg(0), pr.Path, pr.Message)
			}
			fmt.Fprintf(c.Stderr, "%s: %d problems in %s\n", c.name, len(pe.Problems), fs.Arg(0))
			return ExitFailed
		}
		return c.fail(err)
	}
	mode := ""
	if p.DryRun {
		mode = " (dry run as a whole: nothing is created)"
	}
	fmt.Fprintf(c.Stdout, "%s: ok, %d rules tried in this order%s: %s\n", fs.Arg(0), len(p.Rules()), mode, strings.Join(p.Rules(), ", "))
	return ExitOK
}

func runPolicyTest(_ context.Context, c *cli, args []string) int {
	cmd := find(find(commands(), "policy"), "test")
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	verbose := fs.Bool("v", false, "print every case")
	out := outputFlag(fs)
	if code, ok := c.parse(cmd, fs, args, want{2, 2, "name a policy file and a cases file"}, out); !ok {
		return code
	}
	p, err := policy.Load(fs.Arg(0))
	if err != nil {
		return c.fail(fmt.Errorf("%w (vpngwctl policy lint %s lists the problems)", err, fs.Arg(0)))
	}
	f, err := os.Open(fs.Arg(1))
	if err != nil {
		return c.fail(err)
	}
	defer f.Close()
	cases, err := policy.ReadCases(f)
	if err != nil {
		return c.fail(fmt.Errorf("%s: %w", fs.Arg(1), err))
	}
	if len(cases) == 0 {
		return c.fail(fmt.Errorf("%s holds no case: a test that decides nothing proves nothing", fs.Arg(1)))
	}
	type result struct {
		Name       string
		Line       int
		OK         bool
		Got        policy.Expect
		Expect     policy.Expect
		Mismatches []string `json:",omitempty"`
		Message    string
	}
	var results []result
	failed := 0
	for _, k := range cases {
		res, err := p.Check(k)
		if err != nil {
			return c.fail(fmt.Errorf("%s line %d (%s): %w", fs.Arg(1), k.Line, k.Name, err))
		}
		if !res.OK() {
			failed++
		}
		results = append(results, result{Name: k.Name, Line: k.Line, OK: res.OK(), Got: res.Got, Expect: k.Expect, Mismatches: res.Mismatches, Message: res.Decision.Message})
	}
	if *out == "json" {
		if code := c.json(results); code != ExitOK {
			return code
		}
	} else {
		for _, r := range results {
			switch {
			case !r.OK:
				fmt.Fprintf(c.Stdout, "FAIL %s:%d %s: %s\n     %s\n", fs.Arg(1), r.Line, r.Name, strings.Join(r.Mismatches, "; "), r.Message)
			case *verbose:
				fmt.Fprintf(c.Stdout, "ok   %s:%d %s: %s\n", fs.Arg(1), r.Line, r.Name, decided(r.Got))
			}
		}
		fmt.Fprintf(c.Stdout, "%d cases, %d passed, %d failed\n", len(results), len(results)-failed, failed)
	}
	if failed > 0 {
		return ExitFailed
	}
	return ExitOK
}

// decided says in words what a decision was.
func decided(e policy.Expect) string {
	s := "denied"
	if e.Allowed {
		s = "allowed"
	}
	if e.DryRun {
		s += " (dry run)"
	}
	if e.Rule == "" {
		s += " by default (no rule matches)"
	} else {
		s += " by rule " + e.Rule
	}
	if len(e.Violations) > 0 {
		s += ": " + strings.Join(e.Violations, ", ")
	}
	return s
}
