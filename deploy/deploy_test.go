// Package deploy_test checks the deployment files in deploy/ against the
// code: each function's RAM policy (deploy/ram/<function>.json) grants
// exactly the VPC API actions that function's code can call (so the two
// cannot drift apart), and the sample operator policy loads.
//
// Sources for the RAM policy (see README-ram.md for the reasoning):
//   - RAM policy structure, Version "1", Effect/Action/Resource/Condition:
//     https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-ram
//   - VPN gateway ARNs, acs:vpc:$regionid:$accountid:vpngateway/$vpngatewayid
//     (and vpc/, vswitch/): "RAM authentication" of the VPC docs,
//     https://www.alibabacloud.com/help/en/virtual-private-cloud/latest/ram-user-authorization
//   - DescribeVpnGateways, action vpc:DescribeVpnGateways, resource
//     acs:vpc:{#regionId}:{#accountId}:vpngateway/*: its API reference,
//     https://www.alibabacloud.com/help/doc-detail/53020.htm
//   - acs:SecureTransport:
//     https://www.alibabacloud.com/help/en/ram/access-alibaba-cloud-by-using-a-specified-method
package deploy_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/policy"
)

const (
	// ramDir holds one RAM policy per function, deploy/ram/<function>.json.
	ramDir       = "ram"
	actionPrefix = "vpc:"
	// The region and account of every resource ARN: placeholders that
	// envsubst fills in when the policy is created (README-ram.md), so that
	// no policy reaches another region or account by a "*".
	ramRegionVar  = "${VPNGW_REGION}"
	ramAccountVar = "${VPNGW_ACCOUNT_ID}"
	// sdkModule is the SDK through which the code reaches the VPC API.
	sdkModule = "github.com/aliyun/alibaba-cloud-sdk-go"
	// cloudDir is the one package allowed to call the VPC API.
	cloudDir = "../internal/cloud/vpcclient"
	// secretsDir reads KMS secrets, and calls nothing else.
	secretsDir = "../internal/secrets"
)

// ramPolicy is a RAM policy document. Action and Resource may each be one
// string or a list, as RAM allows.
type ramPolicy struct {
	Version   string
	Statement []struct {
		Effect    string
		Action    stringOrList
		Resource  stringOrList
		Condition map[string]map[string]json.RawMessage
	}
}

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

func readRAMPolicy(t *testing.T, data []byte) ramPolicy {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p ramPolicy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("RAM policy: %v", err)
	}
	return p
}

// diffActions compares the policy's actions with the code's, both ways.
func diffActions(granted, called []string) (missing, extra []string) {
	for _, a := range called {
		if !slices.Contains(granted, a) {
			missing = append(missing, a)
		}
	}
	for _, a := range granted {
		if !slices.Contains(called, a) {
			extra = append(extra, a)
		}
	}
	return missing, extra
}

// checkRAMPolicy returns every way p departs from the rules: Version 1,
// Allow only, no wildcard action, only vpc: actions, each granted once,
// scoped VPC resources, HTTPS only, and exactly the actions the code calls.
func checkRAMPolicy(p ramPolicy, called []string) []string {
	var probs []string
	if p.Version != "1" {
		probs = append(probs, "Version must be \"1\", got "+strconv.Quote(p.Version))
	}
	if len(p.Statement) == 0 {
		probs = append(probs, "no Statement")
	}
	var granted []string
	for i, st := range p.Statement {
		where := "Statement[" + strconv.Itoa(i) + "]"
		if slices.ContainsFunc(st.Action, func(a string) bool { return strings.HasPrefix(a, kmsActionPrefix) }) {
			continue // reading secrets: checkRAMSecrets
		}
		if st.Effect != "Allow" {
			probs = append(probs, where+": Effect must be Allow, got "+strconv.Quote(st.Effect))
		}
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			probs = append(probs, where+": needs Action and Resource")
		}
		for _, a := range st.Action {
			switch {
			case strings.ContainsAny(a, "*?"):
				probs = append(probs, where+": wildcard action "+strconv.Quote(a)+"; name each action")
			case !strings.HasPrefix(a, actionPrefix):
				probs = append(probs, where+": action "+strconv.Quote(a)+" is not a VPC action")
			case slices.Contains(granted, strings.TrimPrefix(a, actionPrefix)):
				probs = append(probs, where+": action "+a+" is granted twice")
			default:
				granted = append(granted, strings.TrimPrefix(a, actionPrefix))
			}
		}
		for _, r := range st.Resource {
			typ, ok := vpcResourceType(r)
			if !ok {
				probs = append(probs, where+": resource "+strconv.Quote(r)+" is not a VPC resource ARN (acs:vpc:region:account:type/id)")
				continue
			}
			if parts := strings.Split(r, ":"); parts[2] != ramRegionVar || parts[3] != ramAccountVar {
				probs = append(probs, where+": resource "+strconv.Quote(r)+" must be scoped to acs:vpc:"+ramRegionVar+":"+ramAccountVar+":..., not region "+strconv.Quote(parts[2])+" and account "+strconv.Quote(parts[3]))
			}
			if !slices.Contains(allowedResourceTypes, typ) {
				probs = append(probs, where+": resource type "+typ+" is not one vpngw needs ("+strings.Join(allowedResourceTypes, ", ")+")")
			}
		}
		if string(st.Condition["Bool"]["acs:SecureTransport"]) != `"true"` {
			probs = append(probs, where+`: must require HTTPS (Condition Bool acs:SecureTransport "true")`)
		}
	}
	missing, extra := diffActions(granted, called)
	extra = slices.DeleteFunc(extra, func(a string) bool { return impliedActions[a] != "" })
	for _, a := range missing {
		probs = append(probs, "the function's code calls "+a+", which the policy does not grant: add \""+actionPrefix+a+"\"")
	}
	for _, a := range extra {
		probs = append(probs, "the policy grants "+actionPrefix+a+", which the function's code never calls: remove it")
	}
	return probs
}

// impliedActions are actions the policy may grant although the code never
// sends them itself, each with the reason: an API call that RAM also checks
// against another action. None is needed today (see README-ram.md, Tagging).
var impliedActions = map[string]string{}

// allowedResourceTypes are the resource types a vpngw statement may name:
// the gateway itself, and the VPC and vSwitches CreateVpnGateway places it in.
var allowedResourceTypes = []string{"vpngateway", "vpc", "vswitch"}

// vpcResourceType returns the resource type of a VPC ARN such as
// acs:vpc:*:*:vpngateway/*. A bare "*" or another service's ARN is not one.
func vpcResourceType(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) != 5 || parts[0] != "acs" || parts[1] != "vpc" {
		return "", false
	}
	typ, id, ok := strings.Cut(parts[4], "/")
	if !ok || typ == "" || strings.ContainsAny(typ, "*?") || id == "" {
		return "", false
	}
	return typ, true
}

// TestRAMPolicyMatchesCode is the drift test: deploy/ram/<function>.json
// grants exactly the VPC API actions that function's code can reach
// (functionActions reads them from internal/app), for every function and
// for nothing else; and vpcclient.Actions is what internal/cloud/vpcclient
// calls (the next test).
func TestRAMPolicyMatchesCode(t *testing.T) {
	if len(vpcclient.Actions) == 0 {
		t.Fatal("vpcclient.Actions is empty")
	}
	fns := shipFunctions(t, "..")
	files, err := filepath.Glob(filepath.Join(ramDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if name != ramTrustPolicy && !slices.Contains(fns, name) {
			t.Errorf("%s: there is no function %s; a role per function, named after it", f, name)
		}
	}
	for _, fn := range fns {
		t.Run(fn, func(t *testing.T) {
			called := functionActions(t, "..", fn)
			if len(called) == 0 {
				t.Fatalf("found no VPC API action that functions/%s reaches", fn)
			}
			p := filepath.Join(ramDir, fn+".json")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("functions/%s has no RAM policy: %v", fn, err)
			}
			pol := readRAMPolicy(t, data)
			for _, prob := range checkRAMPolicy(pol, called) {
				t.Errorf("%s: %s", p, prob)
			}
			for _, prob := range checkRAMSecrets(pol, secretsOf(fn)) {
				t.Errorf("%s: %s", p, prob)
			}
		})
	}
}

// TestCloudActionsAreWhatTheCodeCalls reads internal/cloud/vpcclient's source: every
// action it sends must be in vpcclient.Actions and every entry of vpcclient.Actions
// must be sent somewhere. Otherwise the drift test above would compare the
// policy with a list that no longer says what the code does.
func TestCloudActionsAreWhatTheCodeCalls(t *testing.T) {
	called := actionsCalled(t, cloudDir)
	missing, extra := diffActions(vpcclient.Actions, called)
	if len(missing) > 0 {
		t.Errorf("internal/cloud/vpcclient calls %q, which vpcclient.Actions does not list", missing)
	}
	if len(extra) > 0 {
		t.Errorf("vpcclient.Actions lists %q, which internal/cloud/vpcclient never calls", extra)
	}
}

// actionsCalled returns the action argument of every c.call(ctx, region,
// action, ...) in the package in dir, resolving the package's string
// constants. An argument it cannot resolve is a failure: the action must be
// visible to this test.
func actionsCalled(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files := parsePackage(t, fset, dir)
	consts := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	var called []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "call" || len(call.Args) < 3 {
				return true
			}
			var action string
			switch a := call.Args[2].(type) {
			case *ast.Ident:
				action = consts[a.Name]
			case *ast.BasicLit:
				action, _ = strconv.Unquote(a.Value)
			}
			if action == "" {
				t.Errorf("%s: cannot tell which action this call sends; pass an Action* constant", fset.Position(call.Pos()))
				return true
			}
			if !slices.Contains(called, action) {
				called = append(called, action)
			}
			return true
		})
	}
	if len(called) == 0 {
		t.Fatalf("found no API call in %s; has the call helper been renamed?", dir)
	}
	return called
}

func parsePackage(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// TestOnlyCloudImportsTheSDK makes internal/cloud/vpcclient the only production code
// that can reach the VPC API, so that its list is the whole list. The other
// is internal/secrets, which calls KMS's GetSecretValue alone
// (deploy/secrets_test.go grants it).
func TestOnlyCloudImportsTheSDK(t *testing.T) {
	root := ".."
	cloudAbs, _ := filepath.Abs(cloudDir)
	secretsAbs, _ := filepath.Abs(secretsDir)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(filepath.Dir(path))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, sdkModule) && abs != cloudAbs && abs != secretsAbs {
				t.Errorf("%s imports %s: only internal/cloud/vpcclient may call the VPC API, or deploy/ram/ cannot know what is called", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRAMPolicyCheckCatchesDrift feeds the checker policies that drifted,
// so the drift test is known to fail when it should.
func TestRAMPolicyCheckCatchesDrift(t *testing.T) {
	called := []string{"CreateVpnGateway", "DescribeVpnGateways"}
	stmt := func(effect, actions, resources string) string {
		return `{"Effect":"` + effect + `","Action":` + actions + `,"Resource":` + resources +
			`,"Condition":{"Bool":{"acs:SecureTransport":"true"}}}`
	}
	gw := `["acs:vpc:${VPNGW_REGION}:${VPNGW_ACCOUNT_ID}:vpngateway/*"]`
	cases := []struct {
		name, doc, want string
	}{
		{"action missing", `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway"]`, gw) + `]}`,
			"the function's code calls DescribeVpnGateways, which the policy does not grant"},
		{"action extra", `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway","vpc:DescribeVpnGateways","vpc:DeleteVpnGateway"]`, gw) + `]}`,
			"the policy grants vpc:DeleteVpnGateway, which the function's code never calls"},
		{"an action of another function", `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway","vpc:DescribeVpnGateways"]`, gw) + `]}`,
			"the policy grants vpc:DescribeVpnGateways, which the function's code never calls"},
		{"any region", `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway","vpc:DescribeVpnGateways"]`, `["acs:vpc:*:${VPNGW_ACCOUNT_ID}:vpngateway/*"]`) + `]}`,
			`must be scoped to acs:vpc:${VPNGW_REGION}:${VPNGW_ACCOUNT_ID}`},
		{"any account", `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway","vpc:DescribeVpnGateways"]`, `["acs:vpc:${VPNGW_REGION}:*:vpngateway/*"]`) + `]}`,
			`account "*"`},
		{"wildcard action", `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway","vpc:Describe*"]`, gw) + `]}`,
			`wildcard action "vpc:Describe*"`},
		{"deny statement", `{"Version":"1","Statement":[` + stmt("Deny", `"vpc:CreateVpnGateway"`, gw) + `,` + stmt("Allow", `"vpc:DescribeVpnGateways"`, gw) + `]}`,
			"Effect must be Allow"},
		{"any resource", `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway","vpc:DescribeVpnGateways"]`, `"*"`) + `]}`,
			"is not a VPC resource ARN"},
		{"other resource type", `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway","vpc:DescribeVpnGateways"]`, `["acs:vpc:${VPNGW_REGION}:${VPNGW_ACCOUNT_ID}:eip/*"]`) + `]}`,
			"resource type eip is not one vpngw needs"},
		{"plain HTTP allowed", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["vpc:CreateVpnGateway","vpc:DescribeVpnGateways"],"Resource":` + gw + `}]}`,
			"must require HTTPS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			called := called
			if tc.name == "an action of another function" {
				called = []string{"CreateVpnGateway"} // provision's, say
			}
			probs := checkRAMPolicy(readRAMPolicy(t, []byte(tc.doc)), called)
			if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q do not include %q", probs, tc.want)
			}
		})
	}
	good := `{"Version":"1","Statement":[` + stmt("Allow", `["vpc:CreateVpnGateway","vpc:DescribeVpnGateways"]`, gw) + `]}`
	if probs := checkRAMPolicy(readRAMPolicy(t, []byte(good)), called); len(probs) != 0 {
		t.Errorf("a correct policy is refused: %q", probs)
	}
}

// TestSamplePolicyLoads keeps the shipped sample valid.
func TestSamplePolicyLoads(t *testing.T) {
	p, err := policy.Load("policy.sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules()) == 0 {
		t.Fatal("sample policy has no rules")
	}
	if p.DryRun {
		t.Fatal("the sample policy must not be dry-run as a whole: it shows dryRun on one rule")
	}
}

// docs/POLICY.md shows the sample policy in full; it must be the file itself.
func TestPolicyDocShowsTheSamplePolicy(t *testing.T) {
	sample, err := os.ReadFile("policy.sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/POLICY.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```yaml\n"+strings.TrimRight(string(sample), "\n")+"\n```") {
		t.Fatal("docs/POLICY.md's copy of deploy/policy.sample.yaml differs from the file; paste the file again")
	}
}
