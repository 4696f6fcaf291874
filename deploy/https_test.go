package deploy_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// shipPlainHTTPExposure lists every way s.yaml lets a function with an HTTP
// trigger be reached over plain HTTP: the trigger's own endpoint on the
// internet (disableURLInternet not true: Function Compute serves it over
// HTTP and HTTPS alike), or no fc3-domain custom domain routing to it with
// protocol HTTPS alone and a certificate.
func shipPlainHTTPExposure(s shipSYAML) []string {
	var problems []string
	prefix := "${vars.prefix}-"
	for name, r := range s.Resources {
		if r.Component != "fc3" {
			continue
		}
		triggers, _ := r.Props["triggers"].([]any)
		for _, tr := range triggers {
			m, _ := tr.(map[string]any)
			if m["triggerType"] != "http" {
				continue
			}
			cfg, _ := m["triggerConfig"].(map[string]any)
			if cfg["disableURLInternet"] != true {
				problems = append(problems, fmt.Sprintf("%s: HTTP trigger %v has disableURLInternet %v: its public endpoint answers plain HTTP; want true, and an HTTPS custom domain", name, m["triggerName"], cfg["disableURLInternet"]))
			}
			fn, _ := r.Props["functionName"].(string)
			if fn == "" {
				fn = prefix + name
			}
			if !shipHTTPSDomainRoutes(s, fn) {
				problems = append(problems, fmt.Sprintf("%s: no fc3-domain resource with protocol HTTPS (not HTTP or HTTP,HTTPS), a certConfig and a route to %s", name, fn))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

func shipHTTPSDomainRoutes(s shipSYAML, fn string) bool {
	for _, r := range s.Resources {
		if r.Component != "fc3-domain" {
			continue
		}
		if p, _ := r.Props["protocol"].(string); strings.TrimSpace(p) != "HTTPS" {
			continue
		}
		if cert, _ := r.Props["certConfig"].(map[string]any); len(cert) == 0 {
			continue
		}
		rc, _ := r.Props["routeConfig"].(map[string]any)
		routes, _ := rc["routes"].([]any)
		for _, rt := range routes {
			if m, _ := rt.(map[string]any); m["functionName"] == fn {
				return true
			}
		}
	}
	return false
}

// The webhook is reachable over HTTPS only, by the deployment: on Function
// Compute the HTTP trigger's public endpoint is off and an HTTPS-only custom
// domain routes to it. (On AWS the function URL in the SAM template is served
// over HTTPS only by Lambda itself; there is nothing to configure.)
func TestWebhookReachableOverHTTPSOnly(t *testing.T) {
	s := shipLoadSYAML(t, shipRoot(t))
	for _, p := range shipPlainHTTPExposure(s) {
		t.Error(p)
	}
	// The check finds each way back to plain HTTP.
	for _, c := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"trigger endpoint on the internet", func(r map[string]any) {
			if fn, ok := r["webhook"].(map[string]any); ok {
				props := fn["props"].(map[string]any)
				for _, tr := range props["triggers"].([]any) {
					tr.(map[string]any)["triggerConfig"].(map[string]any)["disableURLInternet"] = false
				}
			}
		}},
		{"domain also on HTTP", func(r map[string]any) {
			for _, v := range r {
				if m := v.(map[string]any); m["component"] == "fc3-domain" {
					m["props"].(map[string]any)["protocol"] = "HTTP,HTTPS"
				}
			}
		}},
	} {
		var raw map[string]any
		if err := yaml.Unmarshal([]byte(s.text), &raw); err != nil {
			t.Fatal(err)
		}
		c.edit(raw["resources"].(map[string]any))
		data, err := yaml.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		var changed shipSYAML
		if err := yaml.Unmarshal(data, &changed); err != nil {
			t.Fatal(err)
		}
		if len(shipPlainHTTPExposure(changed)) == 0 {
			t.Errorf("%s: the check finds nothing", c.name)
		}
	}
}
