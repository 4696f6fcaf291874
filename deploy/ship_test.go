package deploy_test

// The tests in this file check that vpngw deploys as it is: `make package`
// gives each function a zip holding a static linux/amd64 binary named as
// s.yaml's handler, s.yaml and the AWS SAM template reference only files and
// variables that exist, and every environment variable the code reads
// (internal/app.Vars) is set by both and documented in docs/CONFIGURATION.md.

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/reconcile"
)

const (
	shipModule      = "github.com/vpngw/vpngw"
	shipSYAMLPath   = "s.yaml"
	shipSAMPath     = "deploy/sam/template.yaml"
	shipRulePath    = "deploy/eventbridge-rule.json"
	shipLambdaEntry = "bootstrap" // what Lambda's custom runtime executes
)

// The pages that document the variables and the deploy.
const (
	shipConfigDocPath = "docs/CONFIGURATION.md"
	shipDeployDocPath = "docs/DEPLOY.md"
)

// shipRequestTypes are the event types the provision function handles, the
// ones its EventBridge rules route to it.
var shipRequestTypes = []string{events.TypeRequested, events.TypeBatchRequested}

// shipZipEpoch is the modification time internal/tools/pkgzip gives every
// entry.
var shipZipEpoch = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// shipPlatformSet are variables of app.Vars that Function Compute sets itself
// from the function's role, with STS credentials it renews. s.yaml must not
// set them (that would put a long-lived key in the function's configuration
// and override the role's), only say so.
// shipNeverDeployed are variables the code reads that no deploy sets: the
// switch that lets functions talk plaintext is for tests and experiments.
var shipNeverDeployed = []string{"VPNGW_ALLOW_INSECURE_TRANSPORT"}

var shipPlatformSet = []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"}

// shipLambdaOnly are variables of app.Vars only the Lambda variant sets: on
// Function Compute the role's credentials need no secret.
var shipLambdaOnly = []string{"ALIBABA_CLOUD_ACCESS_KEY_ID_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_SECRET_SECRET"}

// shipRoot is the repository root (go test runs in deploy/).
func shipRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s is not the repository root: %v", root, err)
	}
	return root
}

// shipFunctions lists the functions: every functions/<name>/main.go.
func shipFunctions(t *testing.T, root string) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var fns []string
	for _, m := range mains {
		fns = append(fns, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(fns)
	if len(fns) == 0 {
		t.Fatal("no functions/*/main.go")
	}
	return fns
}

var (
	shipPackageOnce sync.Once
	shipPackageOut  string
	shipPackageErr  error
)

// shipPackage runs `make package package-lambda` in the repository root once
// for every test of this file.
func shipPackage(t *testing.T, root string) {
	t.Helper()
	shipPackageOnce.Do(func() {
		cmd := exec.Command("make", "package", "package-lambda")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		shipPackageOut, shipPackageErr = string(out), err
	})
	if shipPackageErr != nil {
		t.Fatalf("make package package-lambda: %v\n%s", shipPackageErr, shipPackageOut)
	}
}

// shipScopePattern finds the function a variable belongs to: app.Vars says
// "<name> function: ..." of a variable only that function reads (the
// webhook's secrets), so that the others are not handed it.
var shipScopePattern = regexp.MustCompile(`^([a-z][a-z0-9-]*) function: `)

// shipScope is the one function that reads v, or "" when every function does.
func shipScope(v app.Var) string {
	if m := shipScopePattern.FindStringSubmatch(v.Help); m != nil {
		return m[1]
	}
	return ""
}

// shipVarsOf are the variables function fn reads: the shared ones and its own.
// A secret's value is never one of them: its X_SECRET variable is
// (deploy/secrets_test.go).
func shipVarsOf(fn string) []string {
	var names []string
	for _, v := range app.Vars {
		if !v.Local && !slices.Contains(app.SecretVars, v.Name) && (shipScope(v) == "" || shipScope(v) == fn) {
			names = append(names, v.Name)
		}
	}
	return names
}

// shipOwnVars lists the variables only function fn reads.
func shipOwnVars(fn string) []string {
	var names []string
	for _, v := range app.Vars {
		if !v.Local && !slices.Contains(app.SecretVars, v.Name) && shipScope(v) == fn {
			names = append(names, v.Name)
		}
	}
	return names
}

// shipScopeOf is the function a variable belongs to, by name.
func shipScopeOf(name string) string {
	for _, v := range app.Vars {
		if v.Name == name {
			return shipScope(v)
		}
	}
	return ""
}

func shipLocalVars() []string {
	var names []string
	for _, v := range app.Vars {
		if v.Local {
			names = append(names, v.Name)
		}
	}
	return names
}

// shipReadZip returns the entries of a zip.
func shipReadZip(t *testing.T, p string) []*zip.File {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return zr.File
}

func shipUnzip(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return b
}

// shipCheckBinary reports what makes bin unfit for Function Compute's go1
// runtime (or Lambda's provided.al2023): not a static, stripped linux/amd64
// executable of functions/<fn>, built reproducibly.
func shipCheckBinary(bin []byte, fn string) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return []string{"not an ELF file: " + err.Error()}
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 {
		bad("ELF class %v, want ELFCLASS64", f.Class)
	}
	if f.Machine != elf.EM_X86_64 {
		bad("machine %v, want EM_X86_64", f.Machine)
	}
	if f.Type != elf.ET_EXEC {
		bad("ELF type %v, want ET_EXEC (a static executable)", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			bad("program header %v: dynamically linked", p.Type)
		}
	}
	for _, s := range f.Sections {
		switch {
		case s.Name == ".interp" || s.Name == ".dynamic":
			bad("section %s: dynamically linked", s.Name)
		case s.Name == ".symtab":
			bad("section .symtab: not stripped (-ldflags=-s)")
		case strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_"):
			bad("section %s: DWARF kept (-ldflags=-w)", s.Name)
		case s.Name == ".note.go.buildid":
			// The build id hashes the build's inputs and the cache's
			// action ids; -ldflags=-buildid= leaves the note out.
			bad("section .note.go.buildid: a Go build id (-ldflags=-buildid=)")
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		return append(problems, "no Go build information: "+err.Error())
	}
	if want := shipModule + "/functions/" + fn; bi.Path != want {
		bad("built from %s, want %s", bi.Path, want)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v1", "CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[k] != want {
			bad("build setting %s=%q, want %q", k, settings[k], want)
		}
	}
	// Lambda's provided.al2023 runtime speaks the runtime API, never the
	// go1.x runtime's net/rpc protocol: without lambda.norpc the binary
	// links net/rpc, whose reflective method lookup keeps every exported
	// method of every linked type (about 4 MB of the binary) and whose
	// encoding/gob runs its init at every cold start.
	if !slices.Contains(strings.Split(settings["-tags"], ","), "lambda.norpc") {
		bad("build setting -tags=%q: want lambda.norpc (no go1.x RPC mode)", settings["-tags"])
	}
	for k := range settings {
		if strings.HasPrefix(k, "vcs") {
			bad("build setting %s: a VCS stamp makes the binary differ between commits of other files (-buildvcs=false)", k)
		}
	}
	return problems
}

// shipCheckZip reports what is wrong with a function's package: it must hold
// exactly one entry, named entry, executable, with the fixed time, and the
// same bytes as the built binary.
func shipCheckZip(t *testing.T, zipPath, entry string, built []byte) []byte {
	t.Helper()
	files := shipReadZip(t, zipPath)
	if len(files) != 1 {
		var names []string
		for _, f := range files {
			names = append(names, f.Name)
		}
		t.Fatalf("%s holds %v, want exactly %q", zipPath, names, entry)
	}
	f := files[0]
	if f.Name != entry {
		t.Errorf("%s holds %q, want %q", zipPath, f.Name, entry)
	}
	if f.Mode() != 0o755 {
		t.Errorf("%s: %s has mode %v, want -rwxr-xr-x", zipPath, f.Name, f.Mode())
	}
	if !f.Modified.Equal(shipZipEpoch) {
		t.Errorf("%s: %s modified %v, want the fixed %v", zipPath, f.Name, f.Modified, shipZipEpoch)
	}
	bin := shipUnzip(t, f)
	if !bytes.Equal(bin, built) {
		t.Errorf("%s: %s differs from the binary make build wrote", zipPath, f.Name)
	}
	return bin
}

// shipMaxZip is the most a function's zip may weigh: what Function Compute
// downloads and unpacks before a cold start can begin.
const shipMaxZip = 5 << 20

func TestShipPackagesHoldStaticBinariesNamedAsTheHandler(t *testing.T) {
	root := shipRoot(t)
	shipPackage(t, root)
	s := shipLoadSYAML(t, root)
	for _, fn := range shipFunctions(t, root) {
		t.Run(fn, func(t *testing.T) {
			res, ok := s.Resources[fn]
			if !ok {
				t.Fatalf("s.yaml has no resource %q for functions/%s", fn, fn)
			}
			handler, _ := res.Props["handler"].(string)
			built := shipReadFile(t, root, filepath.Join("dist", fn, fn))
			for _, zp := range []string{filepath.Join("dist", fn+".zip"), filepath.Join("dist", "lambda", fn+".zip")} {
				if fi, err := os.Stat(filepath.Join(root, zp)); err != nil {
					t.Error(err)
				} else if fi.Size() > shipMaxZip {
					t.Errorf("%s is %d bytes, over the %d (5 MiB) a function's package may take (docs/PERFORMANCE.md, \"Zip size\")", zp, fi.Size(), shipMaxZip)
				}
			}
			bin := shipCheckZip(t, filepath.Join(root, "dist", fn+".zip"), handler, built)
			for _, p := range shipCheckBinary(bin, fn) {
				t.Errorf("dist/%s.zip: %s", fn, p)
			}
			shipCheckZip(t, filepath.Join(root, "dist", "lambda", fn+".zip"), shipLambdaEntry, built)
		})
	}
}

// TestShipBuildIsReproducible builds and packages again elsewhere: the
// binaries and the zips must come out byte for byte the same, although every
// file time differs.
func TestShipBuildIsReproducible(t *testing.T) {
	root := shipRoot(t)
	shipPackage(t, root)
	again := t.TempDir()
	cmd := exec.Command("make", "package", "DIST="+again)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package DIST=%s: %v\n%s", again, err, out)
	}
	for _, fn := range shipFunctions(t, root) {
		for _, rel := range []string{filepath.Join(fn, fn), fn + ".zip"} {
			a := shipSHA256(t, filepath.Join(root, "dist", rel))
			b := shipSHA256(t, filepath.Join(again, rel))
			if a != b {
				t.Errorf("%s: sha256 %s, then %s: the build is not reproducible (unless a source file changed in between)", rel, a, b)
			}
		}
	}
}

func shipSHA256(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func TestShipBinaryCheckCatchesWhatFunctionComputeCannotRun(t *testing.T) {
	root := shipRoot(t)
	shipPackage(t, root)
	good := shipReadFile(t, root, filepath.Join("dist", "provision", "provision"))
	if problems := shipCheckBinary(good, "provision"); len(problems) > 0 {
		t.Fatalf("the packaged binary is refused: %v", problems)
	}
	if problems := shipCheckBinary(good, "reconcile"); len(problems) == 0 {
		t.Error("provision's binary passed as reconcile's")
	}

	// The same binary with one field changed, as a dynamically linked or
	// foreign build would have it.
	f, err := elf.NewFile(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	phoff := f.ByteOrder.Uint64(good[32:40]) // e_phoff of an ELF64 header
	for _, tc := range []struct {
		name  string
		patch func(b []byte)
		want  string
	}{
		{"another machine", func(b []byte) { f.ByteOrder.PutUint16(b[18:20], uint16(elf.EM_AARCH64)) }, "EM_AARCH64"},
		{"32-bit", func(b []byte) { b[elf.EI_CLASS] = byte(elf.ELFCLASS32) }, "ELF"},
		{"position independent", func(b []byte) { f.ByteOrder.PutUint16(b[16:18], uint16(elf.ET_DYN)) }, "ET_DYN"},
		{"an interpreter", func(b []byte) { f.ByteOrder.PutUint32(b[phoff:phoff+4], uint32(elf.PT_INTERP)) }, "dynamically linked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Clone(good)
			tc.patch(bad)
			got := strings.Join(shipCheckBinary(bad, "provision"), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("the check says %q, want it to report %q", got, tc.want)
			}
		})
	}

	// This test's own binary: built from another package, with a build id.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mine, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(shipCheckBinary(mine, "provision"), "\n")
	for _, want := range []string{".note.go.buildid", "built from " + shipModule + "/deploy", "lambda.norpc"} {
		if !strings.Contains(got, want) {
			t.Errorf("for the test binary the check says %q, want it to report %q", got, want)
		}
	}
	if problems := shipCheckBinary([]byte("#!/bin/sh\n"), "provision"); len(problems) == 0 {
		t.Error("a shell script passed as a binary")
	}
}

// shipSYAML is the part of s.yaml the checks read.
type shipSYAML struct {
	Edition string                         `yaml:"edition"`
	Name    string                         `yaml:"name"`
	Vars    map[string]any                 `yaml:"vars"`
	Actions map[string][]map[string]string `yaml:"actions"`
	// Resources by name; each function's is named after it.
	Resources map[string]struct {
		Component string         `yaml:"component"`
		Props     map[string]any `yaml:"props"`
	} `yaml:"resources"`
	raw  any    // the whole document, for walking every value
	text string // the file, comments included
}

func shipLoadSYAML(t *testing.T, root string) shipSYAML {
	t.Helper()
	data := shipReadFile(t, root, shipSYAMLPath)
	var s shipSYAML
	if err := yaml.Unmarshal(data, &s); err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	if err := yaml.Unmarshal(data, &s.raw); err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	s.text = string(data)
	return s
}

// shipResolve replaces a value that is exactly "${vars.X}" by vars.X, as
// Serverless Devs does (keeping its type: a map stays a map).
func (s shipSYAML) shipResolve(v any) any {
	str, ok := v.(string)
	if !ok {
		return v
	}
	if m := regexp.MustCompile(`^\$\{vars\.([A-Za-z0-9_]+)\}$`).FindStringSubmatch(str); m != nil {
		if val, ok := s.Vars[m[1]]; ok {
			return val
		}
	}
	return v
}

// shipExprPattern finds Serverless Devs expressions; shipExprKinds says what
// each may hold.
var (
	shipExprPattern = regexp.MustCompile(`\$\{([^}]*)\}`)
	shipEnvExpr     = regexp.MustCompile(`^env\('([A-Za-z_][A-Za-z0-9_]*)'(,\s*'([^']*)')?\)$`)
	shipFileExpr    = regexp.MustCompile(`^(?:file|path)\('([^']+)'\)$`)
	shipVarsExpr    = regexp.MustCompile(`^vars\.([A-Za-z0-9_]+)$`)
	shipConfigExpr  = regexp.MustCompile(`^config\('(AccountID|AccessKeyID|AccessKeySecret|SecurityToken)'\)$`)
	shipResExpr     = regexp.MustCompile(`^resources\.([A-Za-z0-9_-]+)\.(?:props|output)\.`)
)

// shipWalk calls f with every string value of v and its path.
func shipWalk(v any, at string, f func(at, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			shipWalk(e, at+"."+k, f)
		}
	case []any:
		for i, e := range x {
			shipWalk(e, fmt.Sprintf("%s[%d]", at, i), f)
		}
	case string:
		f(at, x)
	}
}

// shipCheckExpressions reports every ${...} of s.yaml that refers to a var,
// file or resource that does not exist, or that Serverless Devs does not
// know.
func shipCheckExpressions(s shipSYAML, root string) []string {
	var problems []string
	shipWalk(s.raw, "", func(at, str string) {
		for _, m := range shipExprPattern.FindAllStringSubmatch(str, -1) {
			expr := m[1]
			switch {
			case shipVarsExpr.MatchString(expr):
				name := shipVarsExpr.FindStringSubmatch(expr)[1]
				if _, ok := s.Vars[name]; !ok {
					problems = append(problems, fmt.Sprintf("%s: ${%s}: there is no vars.%s", at, expr, name))
				}
			case shipEnvExpr.MatchString(expr), shipConfigExpr.MatchString(expr):
			case shipFileExpr.MatchString(expr):
				p := shipFileExpr.FindStringSubmatch(expr)[1]
				if _, err := os.Stat(filepath.Join(root, p)); err != nil {
					problems = append(problems, fmt.Sprintf("%s: ${%s}: %v", at, expr, err))
				}
			case shipResExpr.MatchString(expr):
				r := shipResExpr.FindStringSubmatch(expr)[1]
				if _, ok := s.Resources[r]; !ok {
					problems = append(problems, fmt.Sprintf("%s: ${%s}: there is no resource %s", at, expr, r))
				}
			case strings.HasPrefix(expr, "this."):
			default:
				problems = append(problems, fmt.Sprintf("%s: ${%s} is not a Serverless Devs expression this file should hold", at, expr))
			}
		}
	})
	sort.Strings(problems)
	return problems
}

func TestShipSYAMLReferencesOnlyWhatExists(t *testing.T) {
	root := shipRoot(t)
	shipPackage(t, root)
	s := shipLoadSYAML(t, root)
	if s.Edition != "3.0.0" {
		t.Errorf("edition %q, want 3.0.0 (the fc3 component's)", s.Edition)
	}
	for _, p := range shipCheckExpressions(s, root) {
		t.Error(p)
	}

	// The build step Serverless Devs runs before deploying.
	var runs []string
	for _, a := range s.Actions["pre-deploy"] {
		runs = append(runs, a["run"])
		if p := a["path"]; p != "" {
			if st, err := os.Stat(filepath.Join(root, p)); err != nil || !st.IsDir() {
				t.Errorf("pre-deploy %q runs in %q, which is not a directory", a["run"], p)
			}
		}
	}
	if !slices.Contains(runs, "make package") {
		t.Errorf("pre-deploy runs %q, want make package", runs)
	}

	fns := shipFunctions(t, root)
	var deployed []string
	for name, r := range s.Resources {
		if r.Component != "fc3" {
			continue
		}
		deployed = append(deployed, name)
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(fns, name) {
				t.Fatalf("s.yaml deploys %s, but there is no functions/%s/main.go", name, name)
			}
			p := r.Props
			if p["runtime"] != "go1" {
				t.Errorf("runtime %v, want go1", p["runtime"])
			}
			if p["handler"] != name {
				t.Errorf("handler %v, want %s: the handler is the binary's name in the zip", p["handler"], name)
			}
			code, _ := p["code"].(string)
			if path.Clean(code) != "dist/"+name+".zip" {
				t.Errorf("code %q, want ./dist/%s.zip (what make package writes)", code, name)
			}
			if _, err := os.Stat(filepath.Join(root, code)); err != nil {
				t.Errorf("code: %v", err)
			}
			for _, k := range []string{"memorySize", "timeout"} {
				if n, ok := s.shipResolve(p[k]).(int); !ok || n <= 0 {
					t.Errorf("%s %v: want a positive number", k, p[k])
				}
			}
			for _, k := range []string{"region", "role", "vpcConfig", "logConfig", "concurrencyConfig"} {
				if p[k] == nil {
					t.Errorf("props.%s is missing", k)
				}
			}
			// Provision's events come from the rule deploy/ros/eventbridge.yaml
			// creates (eventbridge_test.go); the others have triggers here.
			if p["triggers"] == nil && name != "provision" {
				t.Errorf("props.triggers is missing")
			}
		})
	}
	sort.Strings(deployed)
	if !slices.Equal(deployed, fns) {
		t.Errorf("s.yaml deploys %v, the functions are %v", deployed, fns)
	}
}

// shipEnvRef reads a value that is exactly ${env('NAME')} or
// ${env('NAME', 'default')}.
func shipEnvRef(val string) (name, def string, hasDef, ok bool) {
	inner, found := strings.CutPrefix(val, "${")
	inner, closed := strings.CutSuffix(inner, "}")
	if !found || !closed {
		return "", "", false, false
	}
	m := shipEnvExpr.FindStringSubmatch(inner)
	if m == nil {
		return "", "", false, false
	}
	return m[1], m[3], m[2] != "", true
}

// shipCheckEnv reports how a resource's environmentVariables (vars
// resolved) differ from what the code reads: a variable missing, one the
// platform sets or only the local stack reads, one read from another shell
// variable, or defaults the functions' own configuration check refuses.
func shipCheckEnv(s shipSYAML, name, samplePolicy string) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(name+": "+format, a...)) }
	raw, ok := s.shipResolve(s.Resources[name].Props["environmentVariables"]).(map[string]any)
	if !ok {
		bad("environmentVariables is not a map, nor ${vars.X} naming one: %v", s.Resources[name].Props["environmentVariables"])
		return problems
	}
	env := map[string]string{}
	for k, v := range raw {
		str, ok := v.(string)
		if !ok {
			bad("environmentVariables.%s is %T: Function Compute takes strings only", k, v)
		}
		env[k] = str
	}
	want := slices.DeleteFunc(shipVarsOf(name), func(n string) bool {
		return slices.Contains(shipPlatformSet, n) || slices.Contains(shipNeverDeployed, n) || slices.Contains(shipLambdaOnly, n)
	})
	for _, v := range want {
		if _, ok := env[v]; !ok {
			bad("environmentVariables lacks %s, which the code reads", v)
		}
	}
	for k, val := range env {
		switch {
		case slices.Contains(shipPlatformSet, k) || slices.Contains(shipLambdaOnly, k):
			bad("environmentVariables sets %s: Function Compute signs with the role's credentials", k)
		case slices.Contains(shipNeverDeployed, k):
			bad("environmentVariables sets %s: a deploy never turns off the functions' TLS check", k)
		case slices.Contains(app.SecretVars, k):
			bad("environmentVariables sets %s, a secret's value: name the secret in %s_SECRET", k, k)
		case slices.Contains(shipLocalVars(), k):
			bad("environmentVariables sets %s, which only the local stack reads", k)
		case shipScopeOf(k) != "" && shipScopeOf(k) != name:
			bad("environmentVariables sets %s, which only the %s function reads", k, shipScopeOf(k))
		case !slices.Contains(want, k):
			bad("environmentVariables sets %s, which the code does not read", k)
		}
		if from, _, _, ok := shipEnvRef(val); ok && from != k {
			bad("%s is read from the deploying shell's %s", k, from)
		}
	}

	// What it deploys, with every optional variable at its s.yaml default
	// and the required ones at a sample, must pass the functions' own check.
	sample := map[string]string{
		"VPNGW_STORE_URL":     "postgres://vpngw@db.internal:5432/vpngw?sslmode=verify-full",
		"VPNGW_QUEUE_URL":     "tls://nats.internal:4222",
		"VPNGW_POLICY_INLINE": samplePolicy,
	}
	get := func(k string) string {
		val := env[k]
		if _, def, hasDef, ok := shipEnvRef(val); ok {
			if !hasDef {
				return sample[k]
			}
			return def
		}
		return val
	}
	if _, err := app.FromEnv(get, app.Function); err != nil {
		bad("its environment, at the defaults, is refused: %v", err)
	}
	sort.Strings(problems)
	return problems
}

// shipSamplePolicy is deploy/policy.sample.yaml, the value the checks give
// VPNGW_POLICY_INLINE.
func shipSamplePolicy(t *testing.T, root string) string {
	t.Helper()
	b := shipReadFile(t, root, filepath.Join("deploy", "policy.sample.yaml"))
	return string(b)
}

func TestShipSYAMLSetsEveryVariableTheCodeReads(t *testing.T) {
	root := shipRoot(t)
	s := shipLoadSYAML(t, root)
	policy := shipSamplePolicy(t, root)
	for _, name := range shipPlatformSet {
		if !slices.ContainsFunc(app.Vars, func(v app.Var) bool { return v.Name == name }) {
			t.Errorf("%s is no longer in app.Vars: update shipPlatformSet", name)
		}
		if !strings.Contains(s.text, name) {
			t.Errorf("s.yaml does not say that Function Compute sets %s", name)
		}
	}
	n := 0
	for name, r := range s.Resources {
		if r.Component != "fc3" {
			continue
		}
		n++
		for _, p := range shipCheckEnv(s, name, policy) {
			t.Error(p)
		}
	}
	if n == 0 {
		t.Error("s.yaml has no fc3 resource")
	}
}

// TestShipChecksCatchDrift changes s.yaml's parsed content the ways it could
// drift from the code, and expects each check to say so.
func TestShipChecksCatchDrift(t *testing.T) {
	root := shipRoot(t)
	policy := shipSamplePolicy(t, root)
	envOf := func(s shipSYAML) map[string]any {
		return s.shipResolve(s.Resources["provision"].Props["environmentVariables"]).(map[string]any)
	}
	shipCheckCatches(t, root, func(s shipSYAML) []string { return shipCheckEnv(s, "provision", policy) }, []shipDrift{
		{"a variable dropped", func(s shipSYAML) { delete(envOf(s), "VPNGW_REDRIVE_AFTER") }, "lacks VPNGW_REDRIVE_AFTER"},
		{"a key written in", func(s shipSYAML) { envOf(s)["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "x" }, "signs with the role's credentials"},
		{"a local-stack variable", func(s shipSYAML) { envOf(s)["VPNGW_HTTP_ADDR"] = ":80" }, "only the local stack reads"},
		{"a variable nothing reads", func(s shipSYAML) { envOf(s)["VPNGW_TYPO"] = "1" }, "does not read"},
		{"another function's secret", func(s shipSYAML) { envOf(s)["VPNGW_WEBHOOK_SECRET_SECRET"] = "vpngw/webhook" }, "only the webhook function reads"},
		{"a secret's value", func(s shipSYAML) { envOf(s)["VPNGW_STORE_PASSWORD"] = "x" }, "a secret's value: name the secret in VPNGW_STORE_PASSWORD_SECRET"},
		{"read from the wrong shell variable", func(s shipSYAML) {
			envOf(s)["VPNGW_REDRIVE_AFTER"] = "${env('VPNGW_PROVISION_TIMEOUT', '30m')}"
		}, "deploying shell's VPNGW_PROVISION_TIMEOUT"},
		{"a default the code refuses", func(s shipSYAML) {
			envOf(s)["VPNGW_CONCURRENCY"] = "${env('VPNGW_CONCURRENCY', 'eight')}"
		}, "VPNGW_CONCURRENCY"},
	})

	s := shipLoadSYAML(t, root)
	s.raw = map[string]any{"resources": map[string]any{"x": map[string]any{"props": map[string]any{
		"a": "${vars.nope}",
		"b": "prefix-${file('no/such/file')}",
		"c": "${envv('X')}",
		"d": "${resources.ghost.output.url}",
		"e": "${vars.region}-${env('OK', 'fine')}-${config('AccountID')}",
	}}}}
	got := strings.Join(shipCheckExpressions(s, root), "\n")
	for _, want := range []string{"no vars.nope", "no/such/file", "${envv('X')} is not", "no resource ghost"} {
		if !strings.Contains(got, want) {
			t.Errorf("the expression check says %q, want it to report %q", got, want)
		}
	}
	if strings.Contains(got, ".e:") {
		t.Errorf("the expression check refuses valid expressions: %q", got)
	}
}

// TestShipConfigurationDocListsEveryVariable keeps docs/CONFIGURATION.md's
// table of variables equal to internal/app.Vars: a row for each variable the
// code reads, and none for one it does not.
func TestShipConfigurationDocListsEveryVariable(t *testing.T) {
	root := shipRoot(t)
	doc := string(shipReadFile(t, root, shipConfigDocPath))
	names := make([]string, len(app.Vars))
	for i, v := range app.Vars {
		names[i] = v.Name
	}
	for _, p := range shipVarTableProblems(doc, names) {
		t.Errorf("%s: %s", shipConfigDocPath, p)
	}
}

// The check above can fail: a variable without a row, a row for a variable
// the code does not read, and a row given twice are each reported; a name
// mentioned only in the prose is no row.
func TestShipVarTableCheckCatchesDrift(t *testing.T) {
	doc := "Set `VPNGW_A` first.\n\n| variable | default | meaning |\n|---|---|---|\n" +
		"| `VPNGW_B` | 1 | b |\n| `VPNGW_GONE` | 2 | gone |\n| `VPNGW_B` | 1 | again |\n"
	got := strings.Join(shipVarTableProblems(doc, []string{"VPNGW_A", "VPNGW_B"}), "\n")
	for _, want := range []string{"no row for VPNGW_A", "VPNGW_GONE", "VPNGW_B has 2 rows"} {
		if !strings.Contains(got, want) {
			t.Errorf("the table check says\n%s\nwant it to report %q", got, want)
		}
	}
	if got := shipVarTableProblems("| `VPNGW_A` | x | y |\n", []string{"VPNGW_A"}); len(got) != 0 {
		t.Errorf("a table listing every variable once is reported: %q", got)
	}
}

// shipVarTableRow is a row of the variable table: the variable's name in
// code, first in the row.
var shipVarTableRow = regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|")

// shipVarTableProblems compares the variable table of doc with names.
func shipVarTableProblems(doc string, names []string) []string {
	rows := map[string]int{}
	var out []string
	for _, m := range shipVarTableRow.FindAllStringSubmatch(doc, -1) {
		rows[m[1]]++
		if !slices.Contains(names, m[1]) {
			out = append(out, "a row for "+m[1]+", which internal/app.Vars does not list")
		}
	}
	for _, n := range names {
		switch rows[n] {
		case 0:
			out = append(out, "no row for "+n+" of internal/app.Vars")
		case 1:
		default:
			out = append(out, fmt.Sprintf("%s has %d rows", n, rows[n]))
		}
	}
	return out
}

// The deploy procedure names the commands and files of this directory.
func TestShipDeployDocNamesItsCommandsAndFiles(t *testing.T) {
	root := shipRoot(t)
	doc := string(shipReadFile(t, root, shipDeployDocPath))
	for _, s := range []string{"make package", "make deploy", "make coldstart", "make package-lambda", shipRulePath, shipSAMPath, shipROSPath} {
		if !strings.Contains(doc, s) {
			t.Errorf("%s does not mention %s", shipDeployDocPath, s)
		}
	}
}

// shipTrigger finds a resource's trigger of a type.
func shipTrigger(t *testing.T, s shipSYAML, resource, typ string) map[string]any {
	t.Helper()
	ts, _ := s.Resources[resource].Props["triggers"].([]any)
	for _, tr := range ts {
		m, _ := tr.(map[string]any)
		if m["triggerType"] == typ {
			cfg, _ := m["triggerConfig"].(map[string]any)
			if cfg == nil {
				t.Fatalf("%s: %s trigger has no triggerConfig", resource, typ)
			}
			return m
		}
	}
	t.Fatalf("%s has no %s trigger", resource, typ)
	return nil
}

func TestShipTimerTriggerTicksEveryMinuteWithAPayloadReconcileReads(t *testing.T) {
	s := shipLoadSYAML(t, shipRoot(t))
	cfg := shipTrigger(t, s, "reconcile", "timer")["triggerConfig"].(map[string]any)
	if cron := cfg["cronExpression"]; cron != "0 * * * * *" && cron != "@every 1m" {
		t.Errorf("cronExpression %v, want every minute (six fields, seconds first)", cron)
	}
	if cfg["enable"] != true {
		t.Errorf("enable %v, want true", cfg["enable"])
	}
	payload, _ := cfg["payload"].(string)
	dec := json.NewDecoder(strings.NewReader(payload))
	dec.DisallowUnknownFields()
	var opts reconcile.Options
	if err := dec.Decode(&opts); err != nil {
		t.Errorf("payload %q is not reconcile.Options: %v", payload, err)
	}
	timeout, _ := s.shipResolve(s.Resources["reconcile"].Props["timeout"]).(int)
	// A tick keeps checking, and continuing a batch at the quota, until 5 s
	// before its deadline: past the minute, the tick the timer started
	// next is running when it stops and takes its work over at once; at
	// most two minutes, so that no more than two timer ticks run at once.
	if timeout <= 60 || timeout > 120 {
		t.Errorf("reconcile timeout %d s: want over the timer's minute (ticks overlap and hand over) and at most two minutes", timeout)
	}
	caps, _ := shipCaps(s)
	if overlap := (timeout + 59) / 60; caps["reconcile"] < overlap+1 {
		t.Errorf("reconcile cap %d: %d timer ticks run at once within a %d s timeout, and a manual invocation needs room beside them", caps["reconcile"], overlap, timeout)
	}
	// Lambda: the same timeout, so that a scheduled tick overlaps the next
	// one there too.
	sam := shipLoadSAM(t, shipRoot(t))
	if n, _ := sam.Resources["ReconcileFunction"].Properties["Timeout"].(int); n != timeout {
		t.Errorf("ReconcileFunction Timeout %d, s.yaml's reconcile timeout %d: keep the two in step", n, timeout)
	}
}

// shipSAM is the part of the AWS SAM template the checks read.
type shipSAM struct {
	Transform string `yaml:"Transform"`
	Globals   struct {
		Function map[string]any `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]struct {
		Type       string         `yaml:"Type"`
		Properties map[string]any `yaml:"Properties"`
	} `yaml:"Resources"`
}

func TestShipSAMTemplateDeploysTheLambdaPackages(t *testing.T) {
	root := shipRoot(t)
	shipPackage(t, root)
	data := shipReadFile(t, root, shipSAMPath)
	var sam shipSAM
	if err := yaml.Unmarshal(data, &sam); err != nil {
		t.Fatalf("%s: %v", shipSAMPath, err)
	}
	if sam.Transform != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform %q", sam.Transform)
	}
	g := sam.Globals.Function
	if g["Runtime"] != "provided.al2023" || g["Handler"] != shipLambdaEntry {
		t.Errorf("Runtime %v, Handler %v: want provided.al2023 running %s", g["Runtime"], g["Handler"], shipLambdaEntry)
	}
	if archs, _ := g["Architectures"].([]any); !slices.Equal(archs, []any{"x86_64"}) {
		t.Errorf("Architectures %v, want [x86_64]: the build is linux/amd64", archs)
	}
	// The globals reach every function: the shared variables, all of them,
	// and none that only one function reads.
	envRoot, _ := g["Environment"].(map[string]any)
	env, _ := envRoot["Variables"].(map[string]any)
	shared := slices.DeleteFunc(shipVarsOf(""), func(n string) bool { return slices.Contains(shipNeverDeployed, n) })
	for _, v := range shared {
		if _, ok := env[v]; !ok {
			t.Errorf("Globals.Function.Environment.Variables lacks %s", v)
		}
	}
	for k := range env {
		if !slices.Contains(shared, k) {
			t.Errorf("Globals.Function.Environment.Variables sets %s, which not every function reads", k)
		}
	}

	fns := shipFunctions(t, root)
	var deployed []string
	for name, r := range sam.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		uri, _ := r.Properties["CodeUri"].(string)
		// SAM reads CodeUri relative to the template.
		p := filepath.Join(root, filepath.Dir(shipSAMPath), uri)
		fn := strings.TrimSuffix(filepath.Base(p), ".zip")
		if p != filepath.Join(root, "dist", "lambda", fn+".zip") || !slices.Contains(fns, fn) {
			t.Errorf("%s: CodeUri %q is not dist/lambda/<function>.zip of a function", name, uri)
			continue
		}
		deployed = append(deployed, fn)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: CodeUri: %v", name, err)
		}
		if n, _ := r.Properties["Timeout"].(int); n <= 0 || n > 900 {
			t.Errorf("%s: Timeout %v, want 1 to 900 s", name, r.Properties["Timeout"])
		}
		evs, _ := r.Properties["Events"].(map[string]any)
		fnURL, _ := r.Properties["FunctionUrlConfig"].(map[string]any)
		if len(evs) == 0 && fnURL == nil {
			t.Errorf("%s has no event source and no function URL", name)
		}
		// What only this function reads is in its own variables, all of it.
		if own := shipOwnVars(fn); len(own) > 0 {
			envRoot, _ := r.Properties["Environment"].(map[string]any)
			fenv, _ := envRoot["Variables"].(map[string]any)
			for _, v := range own {
				if _, ok := fenv[v]; !ok {
					t.Errorf("%s: Environment.Variables lacks %s", name, v)
				}
			}
			for k := range fenv {
				if !slices.Contains(own, k) {
					t.Errorf("%s: Environment.Variables sets %s, which %s does not read or every function reads", name, k, fn)
				}
			}
		}
	}
	for _, want := range fns {
		if !slices.Contains(deployed, want) {
			t.Errorf("the SAM template does not deploy %s", want)
		}
	}
	ev, _ := sam.Resources["ProvisionFunction"].Properties["Events"].(map[string]any)
	rule, ok := ev["GatewayRequested"].(map[string]any)
	if !ok || rule["Type"] != "EventBridgeRule" {
		t.Fatalf("ProvisionFunction has no EventBridgeRule event GatewayRequested: %v", ev)
	}
	props, _ := rule["Properties"].(map[string]any)
	pattern, _ := props["Pattern"].(map[string]any)
	types, _ := pattern["detail-type"].([]any)
	var want []any
	for _, ty := range shipRequestTypes {
		want = append(want, ty)
	}
	if !slices.Equal(types, want) {
		t.Errorf("ProvisionFunction's rule matches detail-type %v, want %v", types, want)
	}
	// The function reads the whole Amazon EventBridge event: its source and
	// id are the request's identity.
	for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
		if _, ok := props[k]; ok {
			t.Errorf("ProvisionFunction's rule sets %s: the function needs the event as EventBridge sends it", k)
		}
	}
}

// shipDrift is one way s.yaml could drift: change applied to a fresh copy
// must make the check report want.
type shipDrift struct {
	name   string
	change func(s shipSYAML)
	want   string
}

// shipCheckCatches loads s.yaml afresh for each drift, requires check to
// pass before the change and to report the drift's want after it.
func shipCheckCatches(t *testing.T, root string, check func(shipSYAML) []string, drifts []shipDrift) {
	t.Helper()
	for _, tc := range drifts {
		t.Run(tc.name, func(t *testing.T) {
			s := shipLoadSYAML(t, root) // a fresh copy each time
			if problems := check(s); len(problems) > 0 {
				t.Fatalf("s.yaml fails the check before any change: %v", problems)
			}
			tc.change(s)
			got := strings.Join(check(s), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("the check says %q, want it to report %q", got, tc.want)
			}
		})
	}
}
