package app

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/secrets"
)

// varPrefix is the prefix of every variable vpngw reads itself.
const varPrefix = "VPNGW_"

// testVarPrefixes are variables the test suites read (server URLs, fault
// injection); they are no setting of vpngw and are never reported.
var testVarPrefixes = []string{"VPNGW_TEST_", "VPNGW_FAULT_"}

// deployVars are read when deploying (s.yaml, deploy/README-ram.md), not by
// vpngw: exported in the shell that deploys, they are no typo.
var deployVars = map[string]bool{
	"VPNGW_REGION": true, "VPNGW_ACCOUNT_ID": true, "VPNGW_NAME": true, "VPNGW_QUALIFIER": true,
	"VPNGW_PROVISION_ROLE_ARN": true, "VPNGW_RECONCILE_ROLE_ARN": true, "VPNGW_WEBHOOK_ROLE_ARN": true,
	"VPNGW_VPC_ID": true, "VPNGW_VSWITCH_ID": true, "VPNGW_SECURITY_GROUP_ID": true,
	"VPNGW_LOG_PROJECT": true, "VPNGW_LOG_STORE": true,
}

// UnknownVars reports every VPNGW_* variable in environ (os.Environ's
// "NAME=value" form) that vpngw does not read, each as a sentence naming it
// and the nearest known name. A typo such as VPNGW_POLICY_FILE would
// otherwise leave the setting at its default in silence.
//
// Known are the names in Vars and in SecretVars and, for each of
// SecretVars, the name with secrets.Suffix appended, which names a secret in
// a secret store instead of holding its value.
func UnknownVars(environ []string) []string {
	known := make([]string, 0, len(Vars)+2*len(SecretVars))
	isKnown := map[string]bool{}
	add := func(name string) {
		if !isKnown[name] {
			isKnown[name] = true
			known = append(known, name)
		}
	}
	for _, v := range Vars {
		add(v.Name)
	}
	for _, name := range SecretVars {
		add(name)
		add(name + secrets.Suffix)
	}
	seen := map[string]bool{}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, varPrefix) || isKnown[name] || deployVars[name] || seen[name] || isTestVar(name) {
			continue
		}
		seen[name] = true
		msg := fmt.Sprintf("%s is not a variable vpngw reads", name)
		if near := nearestVar(name, known); near != "" {
			msg += fmt.Sprintf("; did you mean %s?", near)
		}
		out = append(out, msg+" (docs/CONFIGURATION.md lists every variable)")
	}
	sort.Strings(out)
	return out
}

// nearestVar is the known name a typo most likely meant: one within two
// edits; else the longest known name the typo starts with
// (VPNGW_POLICY_FILE: VPNGW_POLICY); else the fewest edits away.
func nearestVar(name string, known []string) string {
	if near := request.Nearest(name, known); near != "" {
		return near
	}
	best := ""
	for _, k := range known {
		if strings.HasPrefix(name, k+"_") && len(k) > len(best) {
			best = k
		}
	}
	if best != "" {
		return best
	}
	bestDist := 0
	for _, k := range known {
		if d := request.EditDistance(name, k); best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// isTestVar says whether name is one of the test suites' variables
// (testVarPrefixes).
func isTestVar(name string) bool {
	return slices.ContainsFunc(testVarPrefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}
