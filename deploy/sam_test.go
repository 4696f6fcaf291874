package deploy_test

// The AWS SAM template deploys on its own: it creates the bus its rule
// reads, runs every function in the VPC, and watches its dead-letter queues.

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// shipSAMParams is the template's Parameters section.
type shipSAMParams struct {
	Parameters map[string]map[string]any `yaml:"Parameters"`
}

// samRef is the logical name a !Ref or !GetAtt names, as the YAML decoder
// hands a tagged scalar over: its text.
func samRef(v any) string {
	s, _ := v.(string)
	name, _, _ := strings.Cut(s, ".")
	return name
}

// shipCheckSAMWiring reports what keeps the template from deploying or
// delivering on its own.
func shipCheckSAMWiring(sam shipSAM, params map[string]map[string]any) []string {
	var problems []string
	typeOf := func(name string) string { return sam.Resources[name].Type }

	// The provision rule reads a bus the template creates.
	ev, _ := sam.Resources["ProvisionFunction"].Properties["Events"].(map[string]any)
	rule, _ := ev["GatewayRequested"].(map[string]any)
	props, _ := rule["Properties"].(map[string]any)
	if bus := samRef(props["EventBusName"]); typeOf(bus) != "AWS::Events::EventBus" {
		problems = append(problems, fmt.Sprintf("ProvisionFunction's rule reads the bus %q, which is not an AWS::Events::EventBus of the template: sam deploy fails without it", bus))
	}
	dlc, _ := props["DeadLetterConfig"].(map[string]any)
	if q := samRef(dlc["Arn"]); typeOf(q) != "AWS::SQS::Queue" {
		problems = append(problems, fmt.Sprintf("ProvisionFunction's rule has no dead-letter queue of the template (DeadLetterConfig.Arn %v)", dlc["Arn"]))
	}

	// Every function in the VPC, with subnets and groups the deployer must give.
	vpc, _ := sam.Globals.Function["VpcConfig"].(map[string]any)
	if vpc == nil {
		problems = append(problems, "Globals.Function.VpcConfig is not a plain map: every function must run in the VPC, not only when a parameter is set")
	}
	for _, k := range []string{"SubnetIds", "SecurityGroupIds"} {
		if vpc == nil {
			break
		}
		p := samRef(vpc[k])
		def, hasDef := params[p]["Default"]
		switch {
		case params[p] == nil:
			problems = append(problems, fmt.Sprintf("Globals.Function.VpcConfig.%s is %v, not a parameter", k, vpc[k]))
		case hasDef:
			problems = append(problems, fmt.Sprintf("parameter %s has the default %q: a deploy without it would run outside the VPC or fail late; make it required", p, def))
		}
	}
	for name, r := range sam.Resources {
		if r.Type == "AWS::Serverless::Function" {
			if _, ok := r.Properties["VpcConfig"]; ok {
				problems = append(problems, name+" sets its own VpcConfig: keep the one of Globals")
			}
		}
	}

	// Triggers invoke an alias, not $LATEST.
	if a, _ := sam.Globals.Function["AutoPublishAlias"].(string); a == "" {
		problems = append(problems, "Globals.Function has no AutoPublishAlias: the rule, the schedule and the function URL would invoke $LATEST")
	}

	// Every queue has an alarm on what waits in it.
	watched := map[string]bool{}
	for _, r := range sam.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" || r.Properties["MetricName"] != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		dims, _ := r.Properties["Dimensions"].([]any)
		for _, d := range dims {
			m, _ := d.(map[string]any)
			watched[samRef(m["Value"])] = true
		}
	}
	for name, r := range sam.Resources {
		if r.Type == "AWS::SQS::Queue" && !watched[name] {
			problems = append(problems, name+": a dead-letter queue without an alarm (AWS::CloudWatch::Alarm on ApproximateNumberOfMessagesVisible)")
		}
	}
	sort.Strings(problems)
	return problems
}

func shipLoadSAMParams(t *testing.T, data []byte) map[string]map[string]any {
	t.Helper()
	var p shipSAMParams
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p.Parameters
}

func TestShipSAMCreatesItsBusRunsInTheVPCAndWatchesItsQueues(t *testing.T) {
	root := shipRoot(t)
	sam := shipLoadSAM(t, root)
	params := shipLoadSAMParams(t, shipReadFile(t, root, shipSAMPath))
	for _, p := range shipCheckSAMWiring(sam, params) {
		t.Error(p)
	}
}

func TestShipSAMWiringCheckCatchesWhatWouldNotDeploy(t *testing.T) {
	root := shipRoot(t)
	data := shipReadFile(t, root, shipSAMPath)
	for _, tc := range []struct {
		name   string
		change func(sam shipSAM, params map[string]map[string]any)
		want   string
	}{
		{"no bus", func(sam shipSAM, _ map[string]map[string]any) { delete(sam.Resources, "EventBus") }, "sam deploy fails without it"},
		{"outside the VPC by default", func(_ shipSAM, params map[string]map[string]any) {
			params["SubnetIds"]["Default"] = ""
		}, "parameter SubnetIds has the default"},
		{"a VPC only when asked", func(sam shipSAM, _ map[string]map[string]any) {
			sam.Globals.Function["VpcConfig"] = "If"
		}, "not a plain map"},
		{"no alias", func(sam shipSAM, _ map[string]map[string]any) {
			delete(sam.Globals.Function, "AutoPublishAlias")
		}, "no AutoPublishAlias"},
		{"a queue nobody watches", func(sam shipSAM, _ map[string]map[string]any) {
			delete(sam.Resources, "ProvisionFailuresAlarm")
		}, "ProvisionFailures: a dead-letter queue without an alarm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sam shipSAM
			if err := yaml.Unmarshal(data, &sam); err != nil {
				t.Fatal(err)
			}
			params := shipLoadSAMParams(t, data)
			if p := shipCheckSAMWiring(sam, params); len(p) > 0 {
				t.Fatalf("the template fails before any change: %v", p)
			}
			tc.change(sam, params)
			got := strings.Join(shipCheckSAMWiring(sam, params), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("the check says %q, want it to report %q", got, tc.want)
			}
		})
	}
}
