package deploy_test

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/secrets"
)

// secretNamePattern are variable names that smell of a secret's value.
var secretNamePattern = regexp.MustCompile(`^(VPNGW_.*SECRET.*|VPNGW_WEBHOOK_KEYS|ALIBABA_CLOUD_ACCESS_KEY_SECRET)$`)

// notSecretValued are variables whose name matches secretNamePattern but
// whose value is no secret: a duration.
var notSecretValued = []string{"VPNGW_SECRET_TTL", "VPNGW_WEBHOOK_SECRET_SOURCES"}

// deployTimeSecret finds a value a deploy tool resolves from a secret store
// into the environment: CloudFormation's dynamic references, Serverless
// Devs' reading of its own stored key.
var deployTimeSecret = regexp.MustCompile(`\{\{resolve:(secretsmanager|ssm-secure):|config\('(AccessKeySecret|SecurityToken)'\)`)

// secretInEnv reports why a function's environment variable k = v puts a
// secret's value where anyone allowed to read the function's configuration
// (fc:GetFunction, lambda:GetFunctionConfiguration) reads it, or "" when it
// does not.
func secretInEnv(k, v string) string {
	isName := strings.HasSuffix(k, secrets.Suffix) && slices.Contains(app.SecretVars, strings.TrimSuffix(k, secrets.Suffix))
	switch {
	case slices.Contains(app.SecretVars, k):
		return fmt.Sprintf("sets %s, a secret's value: name the secret in %s%s", k, k, secrets.Suffix)
	case secretNamePattern.MatchString(k) && !isName && !slices.Contains(notSecretValued, k):
		return fmt.Sprintf("sets %s, which looks like a secret's value and names no secret: add it to app.SecretVars and set %s%s", k, k, secrets.Suffix)
	case deployTimeSecret.MatchString(v):
		return fmt.Sprintf("resolves %s from a secret store at deploy time (%s): the value lands in the configuration; name the secret in a _SECRET variable instead", k, deployTimeSecret.FindString(v))
	}
	// A password inside a URL: the value itself, or the default of a
	// ${env('X', 'default')}.
	candidates := []string{v}
	if _, def, hasDef, ok := shipEnvRef(v); ok && hasDef {
		candidates = append(candidates, def)
	}
	for _, c := range candidates {
		if !strings.Contains(c, "://") {
			continue
		}
		if u, err := url.Parse(c); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				return fmt.Sprintf("sets %s to a URL with a password: name the user alone and the password's secret in %s", k, strings.TrimSuffix(k, "_URL")+"_PASSWORD"+secrets.Suffix)
			}
		}
	}
	return ""
}

// checkEnvSecrets checks one environment.
func checkEnvSecrets(where string, env map[string]any) []string {
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v, _ := env[k].(string)
		if why := secretInEnv(k, v); why != "" {
			problems = append(problems, where+": "+why)
		}
	}
	return problems
}

// checkSYAMLSecrets checks the environment of every fc3 function.
func checkSYAMLSecrets(s shipSYAML) []string {
	var problems []string
	for name, r := range s.Resources {
		if r.Component != "fc3" {
			continue
		}
		env, _ := s.shipResolve(r.Props["environmentVariables"]).(map[string]any)
		problems = append(problems, checkEnvSecrets("s.yaml "+name, env)...)
	}
	sort.Strings(problems)
	return problems
}

// samEnv returns the Variables of an Environment property.
func samEnv(props map[string]any) map[string]any {
	e, _ := props["Environment"].(map[string]any)
	v, _ := e["Variables"].(map[string]any)
	return v
}

// checkSAMSecrets checks the global environment and every function's.
func checkSAMSecrets(sam shipSAM) []string {
	problems := checkEnvSecrets("SAM Globals", samEnv(sam.Globals.Function))
	for name, r := range sam.Resources {
		if r.Type == "AWS::Serverless::Function" || r.Type == "AWS::Lambda::Function" {
			problems = append(problems, checkEnvSecrets("SAM "+name, samEnv(r.Properties))...)
		}
	}
	sort.Strings(problems)
	return problems
}

func TestShipNoSecretInAnyEnvironment(t *testing.T) {
	root := shipRoot(t)
	for _, p := range checkSYAMLSecrets(shipLoadSYAML(t, root)) {
		t.Error(p)
	}
	for _, p := range checkSAMSecrets(shipLoadSAM(t, root)) {
		t.Error(p)
	}
}

// TestShipSecretCheckCatchesSecretsInEnvironments puts each kind of secret
// into the shipped files' environments and expects the check to say so.
func TestShipSecretCheckCatchesSecretsInEnvironments(t *testing.T) {
	root := shipRoot(t)
	cases := []struct {
		name, key, val, want string
	}{
		{"the webhook secret", "VPNGW_WEBHOOK_SECRET", "${env('VPNGW_WEBHOOK_SECRET', '')}", "a secret's value: name the secret in VPNGW_WEBHOOK_SECRET_SECRET"},
		{"the named keys", "VPNGW_WEBHOOK_KEYS", "${env('VPNGW_WEBHOOK_KEYS', '')}", "VPNGW_WEBHOOK_KEYS_SECRET"},
		{"an access key secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "${config('AccessKeySecret')}", "ALIBABA_CLOUD_ACCESS_KEY_SECRET_SECRET"},
		{"a secret of a new name", "VPNGW_GITHUB_SECRET", "${env('VPNGW_GITHUB_SECRET')}", "looks like a secret's value"},
		{"a password in the store URL", "VPNGW_STORE_URL", "postgres://vpngw:hunter2@db:5432/vpngw", "VPNGW_STORE_PASSWORD_SECRET"},
		{"a password in a URL's default", "VPNGW_QUEUE_URL", "${env('VPNGW_QUEUE_URL', 'amqp://vpngw:hunter2@mq:5672/')}", "VPNGW_QUEUE_PASSWORD_SECRET"},
		{"a secret resolved at deploy time", "VPNGW_POLICY_INLINE", "{{resolve:secretsmanager:vpngw/policy:SecretString}}", "at deploy time"},
	}
	for _, c := range cases {
		t.Run("s.yaml/"+c.name, func(t *testing.T) {
			s := shipLoadSYAML(t, root)
			if p := checkSYAMLSecrets(s); len(p) != 0 {
				t.Fatalf("s.yaml fails before any change: %v", p)
			}
			env, _ := s.shipResolve(s.Resources["webhook"].Props["environmentVariables"]).(map[string]any)
			env[c.key] = c.val
			if p := strings.Join(checkSYAMLSecrets(s), "\n"); !strings.Contains(p, c.want) {
				t.Errorf("the check says %q, want it to report %q", p, c.want)
			}
		})
		t.Run("SAM/"+c.name, func(t *testing.T) {
			sam := shipLoadSAM(t, root)
			if p := checkSAMSecrets(sam); len(p) != 0 {
				t.Fatalf("the SAM template fails before any change: %v", p)
			}
			samEnv(sam.Resources["WebhookFunction"].Properties)[c.key] = c.val
			if p := strings.Join(checkSAMSecrets(sam), "\n"); !strings.Contains(p, c.want) {
				t.Errorf("the check says %q, want it to report %q", p, c.want)
			}
		})
	}
}
