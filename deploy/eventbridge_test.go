package deploy_test

// The EventBridge path on Alibaba Cloud: deploy/ros/eventbridge.yaml creates
// the custom bus, the rule that routes the two request types to provision
// (the function's alias, synchronously), the retry strategy and the
// dead-letter queue on that target; s.yaml binds no eventbridge trigger,
// whose Default source is the system bus.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vpngw/vpngw/events"
)

const shipROSPath = "deploy/ros/eventbridge.yaml"

// shipROS is the part of a ROS template the checks read.
type shipROS struct {
	Version    string                    `yaml:"ROSTemplateFormatVersion"`
	Parameters map[string]map[string]any `yaml:"Parameters"`
	Resources  map[string]struct {
		Type       string         `yaml:"Type"`
		DependsOn  []string       `yaml:"DependsOn"`
		Properties map[string]any `yaml:"Properties"`
	} `yaml:"Resources"`
}

func shipLoadROS(t *testing.T, root string) shipROS {
	t.Helper()
	var r shipROS
	if err := yaml.Unmarshal(shipReadFile(t, root, shipROSPath), &r); err != nil {
		t.Fatalf("%s: %v", shipROSPath, err)
	}
	return r
}

// rosValue is a property's value: a literal, {Ref: P} as P's default, or
// {Fn::Sub: s} as s with parameters' defaults filled in.
func (r shipROS) rosValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			return fmt.Sprint(r.Parameters[ref]["Default"])
		}
		if sub, ok := x["Fn::Sub"].(string); ok {
			for name, p := range r.Parameters {
				sub = strings.ReplaceAll(sub, "${"+name+"}", fmt.Sprint(p["Default"]))
			}
			return sub
		}
	}
	return fmt.Sprint(v)
}

// shipCheckROSWiring reports what keeps request events on the bus from
// reaching provision, or leaves a failed delivery unretried or dropped.
func shipCheckROSWiring(r shipROS, rulePattern map[string]any, provisionName string) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var buses, queues, rules []string
	for name, res := range r.Resources {
		switch res.Type {
		case "ALIYUN::EventBridge::EventBus":
			buses = append(buses, name)
		case "ALIYUN::MNS::Queue":
			queues = append(queues, name)
		case "ALIYUN::EventBridge::Rule":
			rules = append(rules, name)
		}
	}
	if len(buses) != 1 || len(rules) != 1 {
		return append(problems, fmt.Sprintf("want one bus and one rule, got buses %v and rules %v", buses, rules))
	}
	bus, rule := r.Resources[buses[0]], r.Resources[rules[0]]
	busName := r.rosValue(bus.Properties["EventBusName"])
	if got := r.rosValue(rule.Properties["EventBusName"]); got != busName || busName == "default" {
		bad("the rule is on bus %q, want the template's own custom bus %q", got, busName)
	}
	if !slices.Contains(rule.DependsOn, buses[0]) {
		bad("the rule does not depend on %s: ROS may create it before its bus", buses[0])
	}
	a, _ := json.Marshal(rule.Properties["FilterPattern"])
	b, _ := json.Marshal(rulePattern)
	if !bytes.Equal(a, b) {
		bad("the rule's FilterPattern %s differs from %s %s", a, shipRulePath, b)
	}
	targets, _ := rule.Properties["Targets"].([]any)
	if len(targets) != 1 {
		return append(problems, fmt.Sprintf("the rule has %d targets, want exactly provision", len(targets)))
	}
	tg, _ := targets[0].(map[string]any)
	if tg["Type"] != "acs.fc.function" {
		bad("target Type %v, want acs.fc.function", tg["Type"])
	}
	if ep := r.rosValue(tg["Endpoint"]); !strings.HasPrefix(ep, "acs:fc:${ALIYUN::Region}:${ALIYUN::AccountId}:functions/") || !strings.HasSuffix(ep, "/"+provisionName) {
		bad("target Endpoint %q, want acs:fc:<region>:<account>:functions/%s", ep, provisionName)
	}
	if ps := tg["PushRetryStrategy"]; ps != "EXPONENTIAL_DECAY_RETRY" && ps != "BACKOFF_RETRY" {
		bad("target PushRetryStrategy %v, want EXPONENTIAL_DECAY_RETRY (or BACKOFF_RETRY)", ps)
	}
	dlq, _ := tg["DeadLetterQueue"].(map[string]any)
	arn := r.rosValue(dlq["Arn"])
	found := false
	for _, q := range queues {
		if strings.HasSuffix(arn, ":/queues/"+r.rosValue(r.Resources[q].Properties["QueueName"])) && strings.HasPrefix(arn, "acs:mns:") {
			found = true
			if !slices.Contains(rule.DependsOn, q) {
				bad("the rule does not depend on its dead-letter queue %s", q)
			}
		}
	}
	if !found {
		bad("target DeadLetterQueue.Arn %q is not the ARN of a queue the template creates", arn)
	}
	params := map[string]string{}
	forms := map[string]string{}
	pl, _ := tg["ParamList"].([]any)
	for _, p := range pl {
		m, _ := p.(map[string]any)
		k, _ := m["ResourceKey"].(string)
		params[k] = r.rosValue(m["Value"])
		forms[k], _ = m["Form"].(string)
	}
	if params["functionName"] != provisionName {
		bad("target functionName %q, want %s", params["functionName"], provisionName)
	}
	if q := params["qualifier"]; q == "" || strings.EqualFold(q, "LATEST") {
		bad("target qualifier %q: invoke an alias, not LATEST", q)
	}
	if params["InvocationType"] != "Sync" {
		bad("target InvocationType %q, want Sync: a failed invocation must reach the retries and the dead-letter queue", params["InvocationType"])
	}
	if forms["Body"] != "ORIGINAL" {
		bad("target Body form %q, want ORIGINAL: the function needs the whole CloudEvent (source and id are its identity)", forms["Body"])
	}
	return problems
}

func shipRulePattern(t *testing.T, root string) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(shipReadFile(t, root, shipRulePath), &p); err != nil {
		t.Fatalf("%s: %v", shipRulePath, err)
	}
	return p
}

func TestShipEventBridgeRuleDeliversToProvision(t *testing.T) {
	root := shipRoot(t)
	r := shipLoadROS(t, root)
	if r.Version != "2015-09-01" {
		t.Errorf("ROSTemplateFormatVersion %q, want 2015-09-01", r.Version)
	}
	pattern := shipRulePattern(t, root)
	for _, p := range shipCheckROSWiring(r, pattern, "vpngw-provision") {
		t.Errorf("%s: %s", shipROSPath, p)
	}

	// The pattern routes the request types, and none of vpngw's outcomes.
	types, _ := pattern["type"].([]any)
	for _, want := range shipRequestTypes {
		if !slices.Contains(types, any(want)) {
			t.Errorf("the rule matches types %v: want %s among them", types, want)
		}
	}
	for _, out := range []string{events.TypeAccepted, events.TypeActive, events.TypeFailed, events.TypeValidated, events.TypeBatchCompleted} {
		for _, ty := range types {
			if str, ok := ty.(string); !ok || strings.HasPrefix(out, str) {
				t.Errorf("the rule matches %v, which takes vpngw's own outcome %s back in", ty, out)
			}
		}
	}

	// s.yaml's provision function name, as the template's default names it.
	s := shipLoadSYAML(t, root)
	if fn, _ := s.Resources["provision"].Props["functionName"].(string); fn != "${vars.prefix}-provision" {
		t.Errorf("s.yaml's provision is %q; the template's ProvisionFunctionName default assumes ${vars.prefix}-provision", fn)
	}
	// No fc3 trigger that looks like a bus binding but is not one.
	for name, res := range s.Resources {
		ts, _ := res.Props["triggers"].([]any)
		for _, tr := range ts {
			m, _ := tr.(map[string]any)
			cfg, _ := m["triggerConfig"].(map[string]any)
			src, _ := cfg["eventSourceConfig"].(map[string]any)
			if m["triggerType"] == "eventbridge" && src["eventSourceType"] == "Default" {
				t.Errorf("s.yaml: %s has an eventbridge trigger with eventSourceType Default, which binds the system bus's service events, not the vpngw bus: the rule is %s's", name, shipROSPath)
			}
			if q, _ := m["qualifier"].(string); q == "" || strings.EqualFold(q, "LATEST") {
				t.Errorf("s.yaml: %s's trigger %v invokes %q: invoke the alias (${vars.qualifier}), not LATEST", name, m["triggerName"], q)
			}
		}
	}
}

func TestShipEventBridgeCheckCatchesBrokenWiring(t *testing.T) {
	root := shipRoot(t)
	pattern := shipRulePattern(t, root)
	target := func(r shipROS) map[string]any {
		return r.Resources["GatewayRequested"].Properties["Targets"].([]any)[0].(map[string]any)
	}
	for _, tc := range []struct {
		name   string
		change func(r shipROS)
		want   string
	}{
		{"rule on the system bus", func(r shipROS) { r.Resources["GatewayRequested"].Properties["EventBusName"] = "default" }, `the rule is on bus "default"`},
		{"no dead-letter queue", func(r shipROS) { delete(target(r), "DeadLetterQueue") }, "not the ARN of a queue the template creates"},
		{"no retry strategy", func(r shipROS) { delete(target(r), "PushRetryStrategy") }, "PushRetryStrategy"},
		{"another function", func(r shipROS) {
			target(r)["Endpoint"] = map[string]any{"Fn::Sub": "acs:fc:${ALIYUN::Region}:${ALIYUN::AccountId}:functions/vpngw-webhook"}
		}, "target Endpoint"},
		{"LATEST", func(r shipROS) { r.Parameters["Qualifier"]["Default"] = "LATEST" }, "not LATEST"},
		{"asynchronous", func(r shipROS) {
			for _, p := range target(r)["ParamList"].([]any) {
				if m := p.(map[string]any); m["ResourceKey"] == "InvocationType" {
					m["Value"] = "Async"
				}
			}
		}, "InvocationType"},
		{"a pattern that drifted", func(r shipROS) {
			r.Resources["GatewayRequested"].Properties["FilterPattern"] = map[string]any{"type": []any{"io.vpngw.gateway."}}
		}, "FilterPattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := shipLoadROS(t, root)
			if p := shipCheckROSWiring(r, pattern, "vpngw-provision"); len(p) > 0 {
				t.Fatalf("the template fails before any change: %v", p)
			}
			tc.change(r)
			got := strings.Join(shipCheckROSWiring(r, pattern, "vpngw-provision"), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("the check says %q, want it to report %q", got, tc.want)
			}
		})
	}
}
