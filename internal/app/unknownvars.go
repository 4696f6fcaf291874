package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vpngw/vpngw/internal/request"
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
// Known are the names in Vars and, for each, the name with _SECRET appended:
// a secret-valued variable may be given as the name of a secret held in a
// secret store. Any known name with _SECRET is accepted for now, not only the
// secret-valued ones.
func UnknownVars(environ []string) []string {
	known := make([]string, 0, 2*len(Vars))
	isKnown := map[string]bool{}
	for _, v := range Vars {
		known = append(known, v.Name)
		isKnown[v.Name] = true
		isKnown[v.Name+"_SECRET"] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, varPrefix) || isKnown[name] || deployVars[name] || seen[name] || hasPrefix(name, testVarPrefixes) {
			continue
		}
		seen[name] = true
		msg := fmt.Sprintf("%s is not a variable vpngw reads", name)
		if near := nearestVar(name, known); near != "" {
			msg += fmt.Sprintf("; did you mean %s?", near)
		}
		out = append(out, msg+" (README.md, Configuration, lists every variable)")
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

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
