package deploy_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// shipRouteWithoutTemplate reports the sample policy's rules matching on
// route (the vpngwroute constant a target template adds) while a target of
// the ROS stack delivering to provision hands over the event as the producer
// wrote it (Body ORIGINAL): then vpngwroute is whatever the producer put, and
// a rule bound to it is only as good as source.
func shipRouteWithoutTemplate(policy []byte, r shipROS) []string {
	var doc struct {
		Rules []struct {
			Name  string         `yaml:"name"`
			Match map[string]any `yaml:"match"`
		} `yaml:"rules"`
	}
	if err := yaml.Unmarshal(policy, &doc); err != nil {
		return []string{fmt.Sprintf("sample policy: %v", err)}
	}
	var routed []string
	for _, rule := range doc.Rules {
		if v, ok := rule.Match["route"]; ok && fmt.Sprint(v) != "" {
			routed = append(routed, rule.Name)
		}
	}
	if len(routed) == 0 {
		return nil
	}
	var problems []string
	for name, res := range r.Resources {
		if res.Type != "ALIYUN::EventBridge::Rule" {
			continue
		}
		targets, _ := res.Properties["Targets"].([]any)
		for _, tg := range targets {
			m, _ := tg.(map[string]any)
			if !strings.Contains(r.rosValue(m["Endpoint"]), "functions/") {
				continue
			}
			params, _ := m["ParamList"].([]any)
			for _, p := range params {
				pm, _ := p.(map[string]any)
				if pm["ResourceKey"] == "Body" && pm["Form"] == "ORIGINAL" {
					problems = append(problems, fmt.Sprintf("sample policy rules %v match on route, but %s's target %v delivers Body ORIGINAL: vpngwroute is then the producer's own; want Form TEMPLATE adding vpngwroute, or rules on bus", routed, name, m["Id"]))
				}
			}
		}
	}
	return problems
}

// The sample policy binds rules to what the platform stamps; a rule on route
// holds only when the rule's target template adds it.
func TestSamplePolicyRouteNeedsATemplate(t *testing.T) {
	root := shipRoot(t)
	policy := shipReadFile(t, root, filepath.Join("deploy", "policy.sample.yaml"))
	r := shipLoadROS(t, root)
	for _, p := range shipRouteWithoutTemplate(policy, r) {
		t.Error(p)
	}
	// The check finds a route rule beside an ORIGINAL target.
	routed := []byte("version: 1\nrules:\n  - name: routed\n    match: {source: \"https://ci.example.com/platform\", route: ci}\n")
	if len(shipRouteWithoutTemplate(routed, r)) == 0 {
		t.Error("a rule on route beside a target delivering Body ORIGINAL: the check finds nothing")
	}
}
