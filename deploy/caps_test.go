package deploy_test

// Concurrency caps: every function has one, on Function Compute and on
// Lambda alike, and the caps fit the database's connections and the API's
// quota (the arithmetic is in s.yaml's vars and docs/DEPLOY.md).

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// shipCreateRatePattern reads the CreateVpnGateway rate of VPNGW_API_RATES:
// what the quota lets all instances start per minute.
const shipCreateRatePattern = `CreateVpnGateway=(\d+)/m`

// shipCaps returns each fc3 resource's reservedConcurrency, and a problem for
// each function without a positive one.
func shipCaps(s shipSYAML) (map[string]int, []string) {
	caps := map[string]int{}
	var problems []string
	for name, r := range s.Resources {
		if r.Component != "fc3" {
			continue
		}
		cc, _ := r.Props["concurrencyConfig"].(map[string]any)
		n, ok := cc["reservedConcurrency"].(int)
		if !ok || n <= 0 {
			problems = append(problems, fmt.Sprintf("%s: no concurrency cap (concurrencyConfig.reservedConcurrency a positive number, got %v)", name, cc["reservedConcurrency"]))
			continue
		}
		caps[name] = n
	}
	sort.Strings(problems)
	return caps, problems
}

// shipCheckCaps reports a function without a cap, and caps whose sum
// exceeds the database's connections (at sqlstore's pool size per instance)
// or what CreateVpnGateway's quota admits within one invocation.
func shipCheckCaps(s shipSYAML) []string {
	caps, problems := shipCaps(s)
	sum := 0
	for _, n := range caps {
		sum += n
	}
	db, ok := s.Vars["databaseConnections"].(int)
	if !ok || db <= 0 {
		problems = append(problems, fmt.Sprintf("vars.databaseConnections is %v: want the connections the database grants vpngw, a positive number", s.Vars["databaseConnections"]))
	} else if need := sum * sqlstore.DefaultMaxOpenConns; need > db {
		problems = append(problems, fmt.Sprintf("the caps add up to %d instances x %d connections = %d, over the database's %d (vars.databaseConnections)", sum, sqlstore.DefaultMaxOpenConns, need, db))
	}

	env, _ := s.shipResolve(s.Vars["environment"]).(map[string]any)
	get := func(k string) string {
		v, _ := env[k].(string)
		if _, def, hasDef, ok := shipEnvRef(v); ok && hasDef {
			return def
		}
		return v
	}
	conc, err := strconv.Atoi(get("VPNGW_CONCURRENCY"))
	m := regexp.MustCompile(shipCreateRatePattern).FindStringSubmatch(get("VPNGW_API_RATES"))
	if err != nil || m == nil {
		return append(problems, fmt.Sprintf("cannot read VPNGW_CONCURRENCY %q or a CreateVpnGateway rate in VPNGW_API_RATES %q", get("VPNGW_CONCURRENCY"), get("VPNGW_API_RATES")))
	}
	perMin, _ := strconv.Atoi(m[1])
	longest := 0
	for name := range caps {
		if t, ok := s.Resources[name].Props["timeout"].(int); ok && t > longest {
			longest = t
		}
	}
	if admitted := perMin * longest / 60; sum*conc > admitted {
		problems = append(problems, fmt.Sprintf("the caps add up to %d instances x VPNGW_CONCURRENCY %d = %d calls in flight, over the %d that CreateVpnGateway=%d/m admits within a %d s invocation", sum, conc, sum*conc, admitted, perMin, longest))
	}
	return problems
}

func TestShipEveryFunctionHasAConcurrencyCap(t *testing.T) {
	root := shipRoot(t)
	s := shipLoadSYAML(t, root)
	for _, p := range shipCheckCaps(s) {
		t.Error(p)
	}
	caps, _ := shipCaps(s)
	// Lambda: the same caps, from the same arithmetic.
	sam := shipLoadSAM(t, root)
	for name, r := range sam.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		fn := strings.ToLower(strings.TrimSuffix(name, "Function"))
		n, ok := r.Properties["ReservedConcurrentExecutions"].(int)
		if !ok || n <= 0 {
			t.Errorf("%s: no concurrency cap (ReservedConcurrentExecutions a positive number, got %v)", name, r.Properties["ReservedConcurrentExecutions"])
			continue
		}
		if n != caps[fn] {
			t.Errorf("%s: ReservedConcurrentExecutions %d, s.yaml's %s has %d: keep the two in step", name, n, fn, caps[fn])
		}
	}
}

func TestShipCapCheckCatchesMissingAndOversizedCaps(t *testing.T) {
	root := shipRoot(t)
	shipCheckCatches(t, root, shipCheckCaps, []shipDrift{
		{"no cap", func(s shipSYAML) { delete(s.Resources["webhook"].Props, "concurrencyConfig") }, "webhook: no concurrency cap"},
		{"a zero cap", func(s shipSYAML) {
			s.Resources["provision"].Props["concurrencyConfig"] = map[string]any{"reservedConcurrency": 0}
		}, "provision: no concurrency cap"},
		{"more instances than connections", func(s shipSYAML) {
			s.Resources["webhook"].Props["concurrencyConfig"] = map[string]any{"reservedConcurrency": 100}
		}, "over the database's"},
		{"a smaller database", func(s shipSYAML) { s.Vars["databaseConnections"] = 20 }, "over the database's 20"},
		{"more calls than the quota", func(s shipSYAML) {
			s.Resources["provision"].Props["concurrencyConfig"] = map[string]any{"reservedConcurrency": 12}
		}, "calls in flight"},
	})
}

// TestDeployDocShowsTheArithmetic keeps docs/DEPLOY.md's sums equal to
// s.yaml's caps, and the document's threat model and first-deploy list in
// place.
func TestDeployDocShowsTheArithmetic(t *testing.T) {
	root := shipRoot(t)
	s := shipLoadSYAML(t, root)
	caps, _ := shipCaps(s)
	doc := string(shipReadFile(t, root, "docs/DEPLOY.md"))
	sum := caps["provision"] + caps["reconcile"] + caps["webhook"]
	terms := fmt.Sprintf("(%d + %d + %d)", caps["provision"], caps["reconcile"], caps["webhook"])
	for _, want := range []string{
		fmt.Sprintf("%s × %d = **%d ≤ %v**", terms, sqlstore.DefaultMaxOpenConns, sum*sqlstore.DefaultMaxOpenConns, s.Vars["databaseConnections"]),
		fmt.Sprintf("%s × 8 = **%d**", terms, sum*8),
		fmt.Sprintf("| provision | %d |", caps["provision"]),
		fmt.Sprintf("| reconcile | %d |", caps["reconcile"]),
		fmt.Sprintf("| webhook | %d |", caps["webhook"]),
		"## Threat model", "## What a first real deploy must confirm",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/DEPLOY.md does not say %q", want)
		}
	}
}
