package deploy_test

// Functions reach their store, broker and API over verified TLS: no deploy
// turns the functions' check off, none migrates from a function, and the
// SAM template refuses a TLS-less URL before the stack changes.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/app"
)

// shipTLSSamples are URLs the functions accept (verified TLS) and refuse.
var shipTLSSamples = map[string]struct{ ok, plain []string }{
	"StoreURL": {
		ok: []string{
			"postgres://vpngw@db.internal:5432/vpngw?sslmode=verify-full",
			"postgresql://vpngw@db.internal:5432/vpngw?application_name=vpngw&sslmode=verify-full",
			"postgres://vpngw@db.internal:5432/vpngw?sslrootcert=system",
			"mysql://vpngw@db.internal:3306/vpngw?tls=true",
			"mysql://vpngw@db.internal:3306/vpngw?charset=utf8mb4&tls=true",
		},
		plain: []string{
			"postgres://vpngw:pw@db.internal:5432/vpngw",
			"postgres://vpngw:pw@db.internal:5432/vpngw?sslmode=disable",
			"postgres://vpngw:pw@db.internal:5432/vpngw?sslmode=prefer",
			"postgres://vpngw:pw@db.internal:5432/vpngw?sslmode=require",
			"postgres://vpngw@db.internal:5432/vpngw?application_name=sslmode=verify-full",
			"mysql://vpngw:pw@db.internal:3306/vpngw",
			"mysql://vpngw:pw@db.internal:3306/vpngw?tls=skip-verify",
			"mysql://vpngw:pw@db.internal:3306/vpngw?tls=preferred",
			"mysql://vpngw:pw@db.internal:3306/vpngw?tls=false",
		},
	},
	"QueueURL": {
		ok:    []string{"tls://mq.internal:4222", "amqps://vpngw@mq.internal:5671/vpngw?exchange=vpngw"},
		plain: []string{"nats://mq.internal:4222", "amqp://vpngw:pw@mq.internal:5672/vpngw", "log:"},
	},
	"VPCEndpoint": {
		ok:    []string{"", "https://vpc.cn-hangzhou.aliyuncs.com"},
		plain: []string{"http://vpc.cn-hangzhou.aliyuncs.com"},
	},
}

// shipSAMVarOf is the variable each parameter fills.
var shipSAMVarOf = map[string]string{"StoreURL": "VPNGW_STORE_URL", "QueueURL": "VPNGW_QUEUE_URL", "VPCEndpoint": "VPNGW_VPC_ENDPOINT"}

// shipCheckTransport reports every function environment that turns the TLS
// check off or lets functions migrate, and every SAM URL parameter whose
// AllowedPattern is missing, lets a TLS-less URL through, or refuses one the
// functions accept.
func shipCheckTransport(s shipSYAML, sam shipSAM, params map[string]map[string]any) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	checkEnv := func(where string, env map[string]any) {
		if v, ok := env["VPNGW_ALLOW_INSECURE_TRANSPORT"]; ok {
			bad("%s sets VPNGW_ALLOW_INSECURE_TRANSPORT=%v: a deploy never lets functions talk plaintext", where, v)
		}
		if v, ok := env["VPNGW_MIGRATE"]; !ok || v != "off" {
			bad("%s: VPNGW_MIGRATE is %v, want 'off': functions run with a DML-only user; vpngwctl migrate changes the schema", where, v)
		}
	}
	for name, r := range s.Resources {
		if r.Component != "fc3" {
			continue
		}
		env, _ := s.shipResolve(r.Props["environmentVariables"]).(map[string]any)
		checkEnv("s.yaml "+name, env)
	}
	envRoot, _ := sam.Globals.Function["Environment"].(map[string]any)
	genv, _ := envRoot["Variables"].(map[string]any)
	checkEnv("SAM Globals.Function", genv)
	for name, r := range sam.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		er, _ := r.Properties["Environment"].(map[string]any)
		env, _ := er["Variables"].(map[string]any)
		if _, ok := env["VPNGW_ALLOW_INSECURE_TRANSPORT"]; ok {
			bad("SAM %s sets VPNGW_ALLOW_INSECURE_TRANSPORT: a deploy never lets functions talk plaintext", name)
		}
		if v, ok := env["VPNGW_MIGRATE"]; ok && v != "off" {
			bad("SAM %s sets VPNGW_MIGRATE=%v, want it 'off' as in Globals", name, v)
		}
	}

	params = shipCloneParams(params)
	var names []string
	for n := range shipTLSSamples {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, p := range names {
		if samRef(genv[shipSAMVarOf[p]]) != p {
			bad("SAM Globals.Function sets %s from %v, not the parameter %s whose pattern is checked", shipSAMVarOf[p], genv[shipSAMVarOf[p]], p)
		}
		pat, _ := params[p]["AllowedPattern"].(string)
		if pat == "" {
			bad("SAM parameter %s has no AllowedPattern: a TLS-less %s deploys and fails only at the functions' start", p, shipSAMVarOf[p])
			continue
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			bad("SAM parameter %s: AllowedPattern %q: %v", p, pat, err)
			continue
		}
		for _, u := range shipTLSSamples[p].plain {
			if re.MatchString(u) {
				bad("SAM parameter %s accepts %q, which has no verified TLS", p, u)
			}
		}
		for _, u := range shipTLSSamples[p].ok {
			if !re.MatchString(u) {
				bad("SAM parameter %s refuses %q, which has verified TLS", p, u)
			}
		}
	}
	return problems
}

// shipCloneParams copies the parameters one level deep, so a check's
// changes stay in its copy.
func shipCloneParams(p map[string]map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, v := range p {
		m := map[string]any{}
		for k2, v2 := range v {
			m[k2] = v2
		}
		out[k] = m
	}
	return out
}

func TestShipFunctionsUseVerifiedTLSAndDoNotMigrate(t *testing.T) {
	root := shipRoot(t)
	s := shipLoadSYAML(t, root)
	sam := shipLoadSAM(t, root)
	params := shipLoadSAMParams(t, shipReadFile(t, root, shipSAMPath))
	for _, p := range shipCheckTransport(s, sam, params) {
		t.Error(p)
	}
	// The samples are what the functions themselves accept and refuse, so
	// the patterns and the code agree.
	for p, smp := range shipTLSSamples {
		name := shipSAMVarOf[p]
		base := map[string]string{
			"VPNGW_STORE_URL":     "postgres://vpngw@db.internal:5432/vpngw?sslmode=verify-full",
			"VPNGW_QUEUE_URL":     "tls://mq.internal:4222",
			"VPNGW_POLICY_INLINE": app.LocalPolicy,
		}
		check := func(u string) error {
			env := map[string]string{name: u}
			for k, v := range base {
				if k != name {
					env[k] = v
				}
			}
			_, err := app.FromEnv(func(k string) string { return env[k] }, app.Function)
			return err
		}
		for _, u := range smp.ok {
			if err := check(u); err != nil {
				t.Errorf("%s=%q: the functions refuse it: %v", name, u, err)
			}
		}
		for _, u := range smp.plain {
			if err := check(u); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: the functions accept it (%v)", name, u, err)
			}
		}
	}
}

func TestShipTransportCheckCatchesPlaintext(t *testing.T) {
	root := shipRoot(t)
	policy := shipSamplePolicy(t, root)
	for _, tc := range []struct {
		name   string
		change func(s shipSYAML, sam shipSAM, params map[string]map[string]any)
		want   string
	}{
		{"the insecure flag in s.yaml", func(s shipSYAML, _ shipSAM, _ map[string]map[string]any) {
			s.shipResolve(s.Resources["provision"].Props["environmentVariables"]).(map[string]any)["VPNGW_ALLOW_INSECURE_TRANSPORT"] = "1"
		}, "s.yaml provision sets VPNGW_ALLOW_INSECURE_TRANSPORT"},
		{"functions migrating", func(s shipSYAML, _ shipSAM, _ map[string]map[string]any) {
			s.shipResolve(s.Resources["reconcile"].Props["environmentVariables"]).(map[string]any)["VPNGW_MIGRATE"] = "on"
		}, "s.yaml reconcile: VPNGW_MIGRATE is on"},
		{"the insecure flag in SAM", func(_ shipSYAML, sam shipSAM, _ map[string]map[string]any) {
			sam.Globals.Function["Environment"].(map[string]any)["Variables"].(map[string]any)["VPNGW_ALLOW_INSECURE_TRANSPORT"] = "1"
		}, "SAM Globals.Function sets VPNGW_ALLOW_INSECURE_TRANSPORT"},
		{"no pattern on the store URL", func(_ shipSYAML, _ shipSAM, p map[string]map[string]any) {
			delete(p["StoreURL"], "AllowedPattern")
		}, "SAM parameter StoreURL has no AllowedPattern"},
		{"a pattern that takes sslmode=require alone", func(_ shipSYAML, _ shipSAM, p map[string]map[string]any) {
			p["StoreURL"]["AllowedPattern"] = `^(postgres|mysql)://.+$`
		}, `SAM parameter StoreURL accepts "postgres://vpngw:pw@db.internal:5432/vpngw?sslmode=disable"`},
		{"a queue pattern that takes nats://", func(_ shipSYAML, _ shipSAM, p map[string]map[string]any) {
			p["QueueURL"]["AllowedPattern"] = `^(nats|tls|amqps)://.+$`
		}, `SAM parameter QueueURL accepts "nats://mq.internal:4222"`},
		{"the store URL not from its parameter", func(_ shipSYAML, sam shipSAM, _ map[string]map[string]any) {
			sam.Globals.Function["Environment"].(map[string]any)["Variables"].(map[string]any)["VPNGW_STORE_URL"] = "postgres://db/vpngw"
		}, "sets VPNGW_STORE_URL from postgres://db/vpngw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sam := shipLoadSYAML(t, root), shipLoadSAM(t, root)
			params := shipLoadSAMParams(t, shipReadFile(t, root, shipSAMPath))
			if p := shipCheckTransport(s, sam, params); len(p) > 0 {
				t.Fatalf("fails before any change: %v", p)
			}
			tc.change(s, sam, params)
			got := strings.Join(shipCheckTransport(s, sam, params), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("the check says %q, want %q", got, tc.want)
			}
		})
	}

	// A TLS-less default in s.yaml is refused by the functions' own check,
	// which shipCheckEnv runs on the defaults.
	s := shipLoadSYAML(t, root)
	s.shipResolve(s.Resources["provision"].Props["environmentVariables"]).(map[string]any)["VPNGW_STORE_URL"] = "${env('VPNGW_STORE_URL', 'postgres://vpngw@db.internal:5432/vpngw?sslmode=disable')}"
	got := strings.Join(shipCheckEnv(s, "provision", policy), "\n")
	if !strings.Contains(got, "VPNGW_STORE_URL") || !strings.Contains(got, "sslmode=verify-full") {
		t.Errorf("a plaintext default store URL: the check says %q", got)
	}
	s = shipLoadSYAML(t, root)
	s.shipResolve(s.Resources["webhook"].Props["environmentVariables"]).(map[string]any)["VPNGW_ALLOW_INSECURE_TRANSPORT"] = "1"
	if got := strings.Join(shipCheckEnv(s, "webhook", policy), "\n"); !strings.Contains(got, "never turns off the functions' TLS check") {
		t.Errorf("the insecure flag: the env check says %q", got)
	}
}
