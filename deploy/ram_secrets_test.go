package deploy_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/secrets"
)

// kmsActionPrefix is the RAM namespace of KMS's actions.
const kmsActionPrefix = "kms:"

// Where each function's secrets live in KMS: the ones every function reads
// (the store's and the broker's passwords) under vpngw/shared/, the ones
// only one function reads under vpngw/<function>/. A role is granted
// GetSecretValue on its prefixes and nothing else (README-ram.md).
const (
	kmsSecretARN    = "acs:kms:" + ramRegionVar + ":" + ramAccountVar + ":secret/"
	kmsSharedPrefix = "vpngw/shared/"
)

// secretsOf lists the KMS secret prefixes function fn reads: one for the
// X_SECRET variables every function reads, one for its own.
func secretsOf(fn string) []string {
	var out []string
	for _, v := range shipVarsOf(fn) {
		if !strings.HasSuffix(v, secrets.Suffix) || !slices.Contains(app.SecretVars, strings.TrimSuffix(v, secrets.Suffix)) || slices.Contains(shipLambdaOnly, v) {
			continue
		}
		p := kmsSharedPrefix
		if scope := shipScopeOf(v); scope != "" {
			p = "vpngw/" + scope + "/"
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// checkRAMSecrets checks a function's KMS grants: GetSecretValue, the one
// action internal/secrets calls, on exactly the prefixes of the secrets the
// function reads, in its region and account, over HTTPS.
func checkRAMSecrets(p ramPolicy, prefixes []string) []string {
	var probs []string
	var granted []string
	for i, st := range p.Statement {
		if !slices.ContainsFunc(st.Action, func(a string) bool { return strings.HasPrefix(a, kmsActionPrefix) }) {
			continue
		}
		where := "Statement[" + strconv.Itoa(i) + "]"
		if !slices.Equal(st.Action, []string{kmsActionPrefix + secrets.ActionGetSecretValue}) {
			probs = append(probs, where+": KMS actions "+strconv.Quote(strings.Join(st.Action, ","))+": want kms:"+secrets.ActionGetSecretValue+" alone, in a statement of its own")
		}
		for _, r := range st.Resource {
			name, ok := strings.CutPrefix(r, kmsSecretARN)
			if !ok {
				probs = append(probs, where+": resource "+strconv.Quote(r)+" must be a secret of "+kmsSecretARN+"...")
				continue
			}
			prefix := strings.TrimSuffix(name, "*")
			if !strings.HasSuffix(name, "/*") || !slices.Contains(prefixes, prefix) {
				probs = append(probs, where+": grants secret "+strconv.Quote(name)+", which the function does not read: it reads "+strconv.Quote(strings.Join(prefixes, "*, ")+"*"))
				continue
			}
			granted = append(granted, prefix)
		}
		if string(st.Condition["Bool"]["acs:SecureTransport"]) != `"true"` {
			probs = append(probs, where+`: must require HTTPS (Condition Bool acs:SecureTransport "true")`)
		}
	}
	for _, want := range prefixes {
		if !slices.Contains(granted, want) {
			probs = append(probs, "the function reads secrets under "+want+", which the policy does not grant: add \""+kmsSecretARN+want+"*\" with kms:"+secrets.ActionGetSecretValue)
		}
	}
	return probs
}

// TestRAMSecretGrantsCatchDrift feeds checkRAMSecrets policies that grant
// too much, too little or too widely.
func TestRAMSecretGrantsCatchDrift(t *testing.T) {
	stmt := func(actions, resources string) string {
		return `{"Version":"1","Statement":[{"Effect":"Allow","Action":` + actions + `,"Resource":` + resources +
			`,"Condition":{"Bool":{"acs:SecureTransport":"true"}}}]}`
	}
	shared := `"acs:kms:${VPNGW_REGION}:${VPNGW_ACCOUNT_ID}:secret/vpngw/shared/*"`
	cases := []struct{ name, doc, want string }{
		{"another function's secrets", stmt(`["kms:GetSecretValue"]`, `[`+shared+`,"acs:kms:${VPNGW_REGION}:${VPNGW_ACCOUNT_ID}:secret/vpngw/webhook/*"]`), `grants secret "vpngw/webhook/*", which the function does not read`},
		{"every secret", stmt(`["kms:GetSecretValue"]`, `["acs:kms:${VPNGW_REGION}:${VPNGW_ACCOUNT_ID}:secret/*"]`), `grants secret "*"`},
		{"any region", stmt(`["kms:GetSecretValue"]`, `["acs:kms:*:${VPNGW_ACCOUNT_ID}:secret/vpngw/shared/*"]`), "must be a secret of acs:kms:${VPNGW_REGION}:${VPNGW_ACCOUNT_ID}"},
		{"more than reading", stmt(`["kms:GetSecretValue","kms:PutSecretValue"]`, `[`+shared+`]`), "want kms:GetSecretValue alone"},
		{"none", `{"Version":"1","Statement":[]}`, "the function reads secrets under vpngw/shared/, which the policy does not grant"},
		{"plain HTTP", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:GetSecretValue"],"Resource":[` + shared + `]}]}`, "must require HTTPS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(checkRAMSecrets(readRAMPolicy(t, []byte(c.doc)), []string{kmsSharedPrefix}), "\n")
			if !strings.Contains(got, c.want) {
				t.Errorf("the check says %q, want %q", got, c.want)
			}
		})
	}
}

func TestSecretsOfFollowsTheVariables(t *testing.T) {
	if got := secretsOf("provision"); !slices.Equal(got, []string{"vpngw/shared/"}) {
		t.Errorf("provision reads secrets under %q, want [vpngw/shared/]", got)
	}
	if got := secretsOf("webhook"); !slices.Equal(got, []string{"vpngw/shared/", "vpngw/webhook/"}) {
		t.Errorf("webhook reads secrets under %q, want [vpngw/shared/ vpngw/webhook/]", got)
	}
}
