package ctl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	samplePolicy = "deploy/policy.sample.yaml"
	sampleCases  = "deploy/policy.sample.cases.jsonl"
)

// The sample policy passes its own cases, as CI runs them.
func TestPolicyTestSamplePasses(t *testing.T) {
	r := ctl(t, nil, "policy", "test", samplePolicy, sampleCases)
	if r.code != 0 || !strings.Contains(r.out, "46 cases, 46 passed, 0 failed") {
		t.Fatalf("policy test of the sample: %v", r)
	}
	r = ctl(t, nil, "policy", "test", "-v", samplePolicy, sampleCases)
	if r.code != 0 || !strings.Contains(r.out, "ok   "+sampleCases+":10 match source glob: ticketing request allowed: allowed by rule ticketing") ||
		!strings.Contains(r.out, "denied by default (no rule matches): /source") {
		t.Fatalf("policy test -v: %v", r)
	}
}

// A case the policy decides otherwise fails the run (exit status 1) and is
// named with its line and what differs; so is a malformed cases file.
func TestPolicyTestMismatchFails(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "..", sampleCases))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(sample), "\n") {
		if strings.Contains(l, `"name":"maxBandwidth: 200 denied"`) {
			l = strings.Replace(l, `"expect":{"allowed":false`, `"expect":{"allowed":true`, 1)
			l = strings.Replace(l, `,"violations":["maxBandwidth/Bandwidth"]`, ``, 1)
		}
		kept = append(kept, l)
	}
	cases := filepath.Join(t.TempDir(), "cases.jsonl")
	if err := os.WriteFile(cases, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ctl(t, nil, "policy", "test", samplePolicy, cases)
	if r.code != 1 || !strings.Contains(r.out, "FAIL "+cases) || !strings.Contains(r.out, "maxBandwidth: 200 denied: allowed is false, the case expects true") ||
		!strings.Contains(r.out, "violations [maxBandwidth/Bandwidth], the case expects none") || !strings.Contains(r.out, "46 cases, 45 passed, 1 failed") {
		t.Fatalf("a mismatching case: %v", r)
	}

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(`{"name":"x","requester":{"source":"s"},"request":{},"expect":{"allowed":true,"rule":"r"},"action":"delete"}`+"\n{not json\n"), 0o600)
	r = ctl(t, nil, "policy", "test", samplePolicy, bad)
	if r.code != 1 || !strings.Contains(r.errOut, `line 1 (x): action "delete": this build decides only "create"`) || !strings.Contains(r.errOut, "line 2: not a case") {
		t.Fatalf("a malformed cases file: %v", r)
	}
	if r := ctl(t, nil, "policy", "test", samplePolicy); r.code != 2 || !strings.Contains(r.errOut, "usage: vpngwctl policy test") {
		t.Fatalf("usage: %v", r)
	}
}

// lint names every problem with where it is; a good policy lists its rules.
func TestPolicyLint(t *testing.T) {
	if r := ctl(t, nil, "policy", "lint", samplePolicy); r.code != 0 || !strings.Contains(r.out, "ok, 5 rules tried in this order: ticketing, chatops") {
		t.Fatalf("lint of the sample: %v", r)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nrules:\n  - name: a\n    match: {source: x}\n    maxBandwidth: lots\n"), 0o600)
	r := ctl(t, nil, "policy", "lint", bad)
	if r.code != 1 || !strings.Contains(r.out, "maxBandwidth") || !strings.Contains(r.errOut, "problems in "+bad) {
		t.Fatalf("lint of a bad policy: %v", r)
	}
}
