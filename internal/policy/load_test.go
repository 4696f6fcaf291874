package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/policy"
)

// validRule is a rule every case below can start from.
const validRule = `
version: 1
rules:
  - name: r
    match:
      source: "/hook"
    regions: [cn-hangzhou]
    vpcs: ["vpc-bp1*"]
    maxBandwidth: 100
    chargeTypes: [POSTPAY]
`

func TestParseValid(t *testing.T) {
	p, err := policy.Parse("policy.yaml", []byte(validRule))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Rules(); len(got) != 1 || got[0] != "r" {
		t.Fatalf("rules %q", got)
	}
	// JSON is YAML: a one-line policy for an environment variable.
	if _, err := policy.Parse("inline", []byte(`{"version":1,"rules":[{"name":"r","match":{"source":"/hook"},"regions":["*"],"vpcs":["*"],"maxBandwidth":5,"chargeTypes":["POSTPAY"]}]}`)); err != nil {
		t.Fatalf("JSON policy: %v", err)
	}
	// Anchors and aliases are YAML too.
	if _, err := policy.Parse("a.yaml", []byte(`
version: 1
rules:
  - name: a
    match: {source: "/a"}
    regions: &regions [cn-hangzhou, cn-shanghai]
    vpcs: ["*"]
    maxBandwidth: 5
    chargeTypes: [POSTPAY]
  - name: b
    match: {source: "/b"}
    regions: *regions
    vpcs: ["*"]
    maxBandwidth: 5
    chargeTypes: [POSTPAY]
`)); err != nil {
		t.Fatalf("aliases: %v", err)
	}
}

// TestParseErrors checks that each mistake is reported at its line, with
// the setting's path and a useful sentence.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // each must appear as a line of the error
	}{
		{name: "unknown key with a near miss", yaml: validRule + "    maxBandwith: 100\n",
			want: []string{`policy.yaml:11: rules[0].maxBandwith: unknown key (did you mean maxBandwidth?)`}},
		{name: "unknown top-level key", yaml: "verison: 1\n" + validRule[len("\nversion: 1\n"):],
			want: []string{`policy.yaml:1: verison: unknown key (did you mean version?)`, `policy.yaml:1: version: required, and missing`}},
		{name: "bandwidth the API does not offer",
			yaml: strings.Replace(validRule, "maxBandwidth: 100", "maxBandwidth: 150", 1),
			want: []string{`policy.yaml:9: rules[0].maxBandwidth: 150 is not a gateway bandwidth; choose one of 5, 10, 20, 50, 100, 200, 500, 1000 (Mbit/s)`}},
		{name: "bandwidth of the wrong type",
			yaml: strings.Replace(validRule, "maxBandwidth: 100", "maxBandwidth: 100M", 1),
			want: []string{`policy.yaml:9: rules[0].maxBandwidth: want a whole number, got the string "100M"`}},
		{name: "bad regular expression",
			yaml: strings.Replace(validRule, `["vpc-bp1*"]`, `["regex:vpc-(bp1"]`, 1),
			want: []string{`policy.yaml:8: rules[0].vpcs[0]: not a regular expression (RE2 syntax): missing closing ): ` + "`^(?:vpc-(bp1)$`"}},
		{name: "boolean written as yes",
			yaml: validRule + "    allowSsl: yes\n",
			want: []string{`policy.yaml:11: rules[0].allowSsl: want true or false, got the string "yes"`}},
		{name: "number where text is wanted",
			yaml: strings.Replace(validRule, `source: "/hook"`, `source: 42`, 1),
			want: []string{`policy.yaml:6: rules[0].match.source: want a string, got the number 42 (write "42" in quotes if it is text)`}},
		{name: "list where a mapping is wanted",
			yaml: strings.Replace(validRule, "    match:\n      source: \"/hook\"\n", "    match: [\"/hook\"]\n", 1),
			want: []string{`policy.yaml:5: rules[0].match: want a mapping (key: value lines), got a list`}},
		{name: "charge type misspelt",
			yaml: strings.Replace(validRule, "[POSTPAY]", "[PostPay]", 1),
			want: []string{`policy.yaml:10: rules[0].chargeTypes[0]: "PostPay" is not a billing method; use POSTPAY or PREPAY (did you mean POSTPAY?)`}},
		{name: "region that is not a region ID",
			yaml: strings.Replace(validRule, "[cn-hangzhou]", "[Hangzhou]", 1),
			want: []string{`policy.yaml:7: rules[0].regions[0]: "Hangzhou" is not a region ID`}},
		{name: "VPC that is not a VPC ID",
			yaml: strings.Replace(validRule, `["vpc-bp1*"]`, `["vcp-bp1abc"]`, 1),
			want: []string{`policy.yaml:8: rules[0].vpcs[0]: "vcp-bp1abc" is not a VPC ID`}},
		{name: "empty list allows nothing",
			yaml: strings.Replace(validRule, "[cn-hangzhou]", "[]", 1),
			want: []string{`policy.yaml:7: rules[0].regions: an empty list allows nothing`}},
		{name: "missing required settings",
			yaml: "version: 1\nrules:\n  - name: r\n    match: {source: \"*\"}\n",
			want: []string{`policy.yaml:3: rules[0].regions: required, and missing`, `policy.yaml:3: rules[0].maxBandwidth: required, and missing`,
				`policy.yaml:3: rules[0].vpcs: required, and missing`, `policy.yaml:3: rules[0].chargeTypes: required, and missing`}},
		{name: "key given twice",
			yaml: validRule + "    maxBandwidth: 5\n",
			want: []string{`policy.yaml:11: rules[0].maxBandwidth: given twice`}},
		{name: "unknown version",
			yaml: strings.Replace(validRule, "version: 1", "version: 2", 1),
			want: []string{`policy.yaml:2: version: version 2 is not known; this vpngw reads version 1`}},
		{name: "SSL limit not offered and without allowSsl",
			yaml: validRule + "    maxSslConnections: 30\n",
			want: []string{`policy.yaml:11: rules[0].maxSslConnections: 30 is not an SSL-VPN client limit; choose one of 5, 10, 20, 50, 100, 200, 500, 1000`,
				`policy.yaml:11: rules[0].maxSslConnections: has no effect without allowSsl: true`}},
		{name: "AutoPay allowed without subscriptions",
			yaml: validRule + "    allowAutoPay: true\n",
			want: []string{`policy.yaml:11: rules[0].allowAutoPay: AutoPay applies only to subscriptions (PREPAY)`}},
		{name: "reserved and invalid tags",
			yaml: validRule + "    addTags:\n      vpngw:source: x\n      acs:owner: x\n      Link: https://wiki\n    requiredTags:\n      Owner: \"regex:(\"\n",
			want: []string{`policy.yaml:12: rules[0].addTags.vpngw:source: tag keys starting with "vpngw:" are reserved`,
				`policy.yaml:13: rules[0].addTags.acs:owner: a tag key may not start with "aliyun" or "acs:"`,
				`policy.yaml:14: rules[0].addTags.Link: a tag value may not contain "http://" or "https://"`,
				`policy.yaml:16: rules[0].requiredTags.Owner: not a regular expression`}},
		{name: "identity tag prefix in another case or disguise",
			yaml: validRule + "    addTags:\n      VPNGW:source: x\n      \"vpngw\\uFF1Aowner\": x\n      \"v\\u0440ngw:team\": x\n",
			want: []string{`policy.yaml:12: rules[0].addTags.VPNGW:source: tag keys starting with "vpngw:" are reserved`,
				"policy.yaml:13: rules[0].addTags.vpngw\uff1aowner: tag keys starting with \"vpngw:\" are reserved",
				"policy.yaml:14: rules[0].addTags.v\u0440ngw:team: tag keys starting with \"vpngw:\" are reserved"}},
		{name: "tag both required and added",
			yaml: validRule + "    requiredTags: {CostCenter: \"*\"}\n    addTags: {CostCenter: CC-1}\n",
			want: []string{`policy.yaml:12: rules[0].addTags.CostCenter: tag CostCenter is both required from the request and added by the rule`}},
		{name: "quota of zero",
			yaml: validRule + "    quota: {perDay: 0}\n",
			want: []string{`policy.yaml:11: rules[0].quota.perDay: 0: a quota is a positive number of gateways`}},
		{name: "duplicate rule name and shadowed rule",
			yaml: validRule + "  - name: r\n    match: {source: \"/hook\"}\n    regions: [\"*\"]\n    vpcs: [\"*\"]\n    maxBandwidth: 5\n    chargeTypes: [POSTPAY]\n",
			want: []string{`policy.yaml:11: rules[1].name: rule name "r" is already used by rules[0]`,
				`policy.yaml:11: rules[1].match: rule "r" is never used: rules[0] ("r") comes first and matches every requester this rule matches`}},
		{name: "catch-all rule shadows the rest",
			yaml: strings.Replace(validRule, `source: "/hook"`, `source: "*"`, 1) +
				"  - name: later\n    match: {source: \"/x\"}\n    regions: [\"*\"]\n    vpcs: [\"*\"]\n    maxBandwidth: 5\n    chargeTypes: [POSTPAY]\n",
			want: []string{`policy.yaml:11: rules[1].match: rule "later" is never used: rules[0] ("r") comes first`}},
		{name: "caller that no route has",
			yaml: strings.Replace(validRule, `source: "/hook"`, "source: \"/hook\"\n      caller: slak", 1),
			want: []string{`policy.yaml:7: rules[0].match.caller: "slak" matches no caller (did you mean "slack"?); a caller is the webhook route a request came through: one of webhook, slack, dingtalk`}},
		{name: "platform attribute misspelt",
			yaml: strings.Replace(validRule, `source: "/hook"`, "source: \"/hook\"\n      buss: vpngw-ci", 1),
			want: []string{`policy.yaml:7: rules[0].match.buss: unknown key (did you mean bus?); the keys here are source, caller, key, chatUser, bus, route, account`}},
		{name: "bus on a webhook rule",
			yaml: strings.Replace(validRule, `source: "/hook"`, "source: \"/hook\"\n      caller: webhook\n      bus: vpngw-ci", 1),
			want: []string{`policy.yaml:8: rules[0].match.bus: bus is stamped by the platform on what the event bus delivers, and a request with a caller came through a webhook: remove caller to match the bus's requests, or bus to match the webhook's`}},
		{name: "account on a chat rule",
			yaml: strings.Replace(validRule, `source: "/hook"`, "source: \"/hook\"\n      account: \"123456789012\"\n      caller: slack", 1),
			want: []string{`policy.yaml:7: rules[0].match.account: account is stamped by the platform`}},
		{name: "key without the webhook caller",
			yaml: strings.Replace(validRule, `source: "/hook"`, "source: \"/hook\"\n      key: ci", 1),
			want: []string{`policy.yaml:7: rules[0].match.key: a key names a key of VPNGW_WEBHOOK_KEYS, which only the webhook route has: write caller: webhook beside key`}},
		{name: "chat user without a caller",
			yaml: strings.Replace(validRule, `source: "/hook"`, "source: \"/hook\"\n      chatUser: U1", 1),
			want: []string{`policy.yaml:7: rules[0].match.chatUser: a chat user comes only with a chat route: add caller (slack or dingtalk) beside chatUser`}},
		{name: "bad rule name", yaml: strings.Replace(validRule, "name: r", "name: \"my rule\"", 1),
			want: []string{`policy.yaml:4: rules[0].name: rule name "my rule": use letters, digits`}},
		{name: "not YAML", yaml: "version: 1\nrules:\n  - name: [\n",
			want: []string{`policy.yaml:3: not valid YAML: did not find expected node content`}},
		{name: "two documents", yaml: validRule + "---\nversion: 1\n",
			want: []string{`policy.yaml:11: a second YAML document`}},
		{name: "empty file", yaml: "",
			want: []string{`policy.yaml: the policy is empty`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse("policy.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			var perr *policy.Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T is not *policy.Error: %v", err, err)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, w := range tc.want {
				found := false
				for _, l := range lines {
					if strings.HasPrefix(l, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no line starting with\n  %s\nin\n  %s", w, strings.Join(lines, "\n  "))
				}
			}
			if len(lines) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n  %s", len(lines), len(tc.want), strings.Join(lines, "\n  "))
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := policy.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}

	p, err := policy.FromEnv(env(nil))
	if p != nil || err != nil {
		t.Errorf("nothing set: got %v, %v; want nil, nil", p, err)
	}

	p, err = policy.FromEnv(env(map[string]string{policy.EnvPath: samplePath}))
	if err != nil || p == nil || len(p.Rules()) != 5 {
		t.Errorf("VPNGW_POLICY: got %v, %v", p, err)
	}

	p, err = policy.FromEnv(env(map[string]string{policy.EnvInline: validRule}))
	if err != nil || p == nil || p.Name() != policy.EnvInline {
		t.Errorf("VPNGW_POLICY_INLINE: got %v, %v", p, err)
	}

	_, err = policy.FromEnv(env(map[string]string{policy.EnvPath: samplePath, policy.EnvInline: validRule}))
	if err == nil || !strings.Contains(err.Error(), "both VPNGW_POLICY and VPNGW_POLICY_INLINE") {
		t.Errorf("both set: got %v", err)
	}

	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, err = policy.FromEnv(env(map[string]string{policy.EnvPath: missing}))
	if err == nil || !strings.HasPrefix(err.Error(), "VPNGW_POLICY: ") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: got %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(validRule+"    maxBandwidth2: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = policy.FromEnv(env(map[string]string{policy.EnvPath: bad}))
	if err == nil || !strings.Contains(err.Error(), bad+":11: rules[0].maxBandwidth2: unknown key") {
		t.Errorf("bad file: got %v", err)
	}

	_, err = policy.FromEnv(env(map[string]string{policy.EnvInline: "version: 1\nrules: {}\n"}))
	if err == nil || !strings.Contains(err.Error(), "VPNGW_POLICY_INLINE:2: rules: want a list of rules, got a mapping") {
		t.Errorf("bad inline: got %v", err)
	}
}
