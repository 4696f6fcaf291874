package deploy_test

// The tests in this file give each function a role of its own with exactly
// the VPC API actions its code reaches: functionActions follows a function
// from its main.go through internal/app to the places where the VPC client
// is handed to a use case, and the checks below hold s.yaml and the SAM
// template to one role per function.

import (
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
)

// ramTrustPolicy is deploy/ram/trust-fc.json: who may assume the roles
// (Function Compute), not a function's permissions.
const ramTrustPolicy = "trust-fc"

// appModule is the module's import path, to map imports to directories.
const appModule = "github.com/vpngw/vpngw/"

// cloudField is the App field that holds the VPC API client.
const cloudField = "Cloud"

// appSource is internal/app's production source, indexed for the walk.
type appSource struct {
	root    string
	methods map[string]*ast.FuncDecl   // methods of *App, by name
	adapted map[string][]*ast.FuncDecl // methods of the package's other types, by type
	newFn   *ast.FuncDecl              // the function that makes the &App{} and builds every field (New's body)
	optSets map[string][]ast.Expr      // what the Option functions set each options field to, by field
	imports map[string]string          // local name -> import path, over the package's files
}

func loadAppSource(t *testing.T, root string) appSource {
	t.Helper()
	fset := token.NewFileSet()
	src := appSource{root: root, methods: map[string]*ast.FuncDecl{}, adapted: map[string][]*ast.FuncDecl{}, imports: map[string]string{},
		optSets: map[string][]ast.Expr{}}
	for _, f := range parsePackage(t, fset, filepath.Join(root, "internal", "app")) {
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			src.imports[name] = p
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if fd.Recv == nil {
				optionSets(fd, src.optSets)
				if buildsApp(fd) {
					if src.newFn != nil {
						t.Fatalf("internal/app: both %s and %s make an &App{}: the walk follows the one function that builds every field", src.newFn.Name.Name, fd.Name.Name)
					}
					src.newFn = fd
				}
				continue
			}
			typ := fd.Recv.List[0].Type
			if st, ok := typ.(*ast.StarExpr); ok {
				typ = st.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				if id.Name == "App" {
					src.methods[fd.Name.Name] = fd
				} else {
					src.adapted[id.Name] = append(src.adapted[id.Name], fd)
				}
			}
		}
	}
	if src.newFn == nil || len(src.methods) == 0 {
		t.Fatal("internal/app has no function that makes an &App{}, or no methods of App: the walk no longer fits the package")
	}
	return src
}

// optionSets records, for a function returning an Option, what it sets each
// options field to (o.webhook = (*App).newWebhook), so that the walk follows
// a field New builds from an option.
func optionSets(fd *ast.FuncDecl, sets map[string][]ast.Expr) {
	if fd.Type.Results == nil || len(fd.Type.Results.List) != 1 {
		return
	}
	if id, ok := fd.Type.Results.List[0].Type.(*ast.Ident); !ok || id.Name != "Option" {
		return
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != len(as.Rhs) {
			return true
		}
		for i, l := range as.Lhs {
			if sel, ok := l.(*ast.SelectorExpr); ok {
				sets[sel.Sel.Name] = append(sets[sel.Sel.Name], as.Rhs[i])
			}
		}
		return true
	})
}

// buildsApp reports whether fd makes an &App{}: New, or the function New and
// RunFunction both build the application with.
func buildsApp(fd *ast.FuncDecl) bool {
	found := false
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if u, ok := n.(*ast.UnaryExpr); ok && u.Op == token.AND {
			if cl, ok := u.X.(*ast.CompositeLit); ok {
				if id, ok := cl.Type.(*ast.Ident); ok && id.Name == "App" {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// recvName is the name a method calls its receiver by ("a").
func recvName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 || len(fd.Recv.List[0].Names) == 0 {
		return ""
	}
	return fd.Recv.List[0].Names[0].Name
}

// functionActions returns the VPC API actions function fn's code can send:
// it starts at the App method functions/<fn>/main.go hands to RunFunction,
// follows every App field and method that reaches, through the statements
// of New that build each field (and the local values they use), and, where
// the VPC client is handed on, reads which client methods the receiving
// package or adapter calls.
func functionActions(t *testing.T, root, fn string) []string {
	t.Helper()
	src := loadAppSource(t, root)
	handler := handlerOf(t, root, fn)
	if src.methods[handler] == nil {
		t.Fatalf("functions/%s/main.go picks (*app.App).%s, which internal/app does not define", fn, handler)
	}
	w := &appWalk{t: t, src: src, seen: map[string]bool{}, locals: localDefs(src.newFn)}
	w.member(handler)
	for _, p := range w.problems {
		t.Errorf("functions/%s: %s", fn, p)
	}
	sort.Strings(w.actions)
	return w.actions
}

// handlerOf reads the App method a function's main.go picks.
func handlerOf(t *testing.T, root, fn string) string {
	t.Helper()
	fset := token.NewFileSet()
	var name string
	for _, f := range parsePackage(t, fset, filepath.Join(root, "functions", fn)) {
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if par, ok := sel.X.(*ast.ParenExpr); ok {
				if st, ok := par.X.(*ast.StarExpr); ok {
					if inner, ok := st.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "App" {
						name = sel.Sel.Name
					}
				}
			}
			return true
		})
	}
	if name == "" {
		t.Fatalf("functions/%s/main.go names no (*app.App) method", fn)
	}
	return name
}

// localDefs maps each local name New defines to the expressions it is set
// from (only the value that lands in it: in `x, err := f()`, f() for x).
func localDefs(fd *ast.FuncDecl) map[string][]ast.Expr {
	defs := map[string][]ast.Expr{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok {
			return true
		}
		for i, l := range as.Lhs {
			id, ok := l.(*ast.Ident)
			if !ok || id.Name == "_" || id.Name == "err" || id.Name == "ok" {
				continue
			}
			switch {
			case len(as.Rhs) == len(as.Lhs):
				defs[id.Name] = append(defs[id.Name], as.Rhs[i])
			case i == 0 && len(as.Rhs) == 1:
				defs[id.Name] = append(defs[id.Name], as.Rhs[0])
			}
		}
		return true
	})
	return defs
}

type appWalk struct {
	t        *testing.T
	src      appSource
	seen     map[string]bool
	locals   map[string][]ast.Expr
	actions  []string
	problems []string // what the walk cannot follow
}

func (w *appWalk) add(actions ...string) {
	for _, a := range actions {
		if !slices.Contains(w.actions, a) {
			w.actions = append(w.actions, a)
		}
	}
}

// member follows an App method (its body) or field (what New sets it from).
func (w *appWalk) member(name string) {
	if w.seen[name] {
		return
	}
	w.seen[name] = true
	if fd, ok := w.src.methods[name]; ok {
		w.node(fd.Body, recvName(fd))
		return
	}
	// A field: the right-hand sides of New's assignments to a.<name>.
	ast.Inspect(w.src.newFn.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok {
			return true
		}
		for i, l := range as.Lhs {
			sel, ok := l.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != name {
				continue
			}
			if len(as.Rhs) == len(as.Lhs) {
				w.node(as.Rhs[i], "a")
			} else {
				w.node(as.Rhs[0], "a")
			}
		}
		return true
	})
}

// node walks an expression or statement: recv.X reaches member X; a local
// of New reaches what it was set from; recv.Cloud handed to pkg.New(...) or
// wrapped in T{...} reaches the client methods that pkg or T calls.
func (w *appWalk) node(n ast.Node, recv string) {
	var stack []ast.Node
	ast.Inspect(n, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		defer func() { stack = append(stack, n) }()
		switch x := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Name == recv {
				if x.Sel.Name == cloudField {
					w.cloudHandedTo(stack, recv)
				} else {
					w.member(x.Sel.Name)
				}
			} else if ok && !w.seen["option "+x.Sel.Name] && len(w.src.optSets[x.Sel.Name]) > 0 {
				// o.<field>: what the options set it to.
				w.seen["option "+x.Sel.Name] = true
				for _, e := range w.src.optSets[x.Sel.Name] {
					w.node(e, "a")
				}
			}
			// A method expression, (*App).M: reaches M.
			if par, ok := x.X.(*ast.ParenExpr); ok {
				if st, ok := par.X.(*ast.StarExpr); ok {
					if id, ok := st.X.(*ast.Ident); ok && id.Name == "App" {
						w.member(x.Sel.Name)
					}
				}
			}
		case *ast.Ident:
			if defs, ok := w.locals[x.Name]; ok && x.Name != recv && !w.seen["local "+x.Name] {
				w.seen["local "+x.Name] = true
				for _, d := range defs {
					w.node(d, "a")
				}
			}
		}
		return true
	})
}

// cloudHandedTo reads where recv.Cloud goes, from the nodes above it.
func (w *appWalk) cloudHandedTo(stack []ast.Node, recv string) {
	if len(stack) > 0 {
		parent := stack[len(stack)-1]
		if _, ok := parent.(*ast.KeyValueExpr); ok && len(stack) > 1 {
			parent = stack[len(stack)-2] // T{field: a.Cloud}
		}
		switch p := parent.(type) {
		case *ast.CallExpr:
			if sel, ok := p.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name != recv {
					path, ok := w.src.imports[pkg.Name]
					if ok && strings.HasPrefix(path, appModule) {
						w.add(w.clientCallsIn(filepath.Join(w.src.root, strings.TrimPrefix(path, appModule)))...)
						return
					}
				}
			}
		case *ast.CompositeLit:
			if id, ok := p.Type.(*ast.Ident); ok && len(w.src.adapted[id.Name]) > 0 {
				var calls []string
				for _, fd := range w.src.adapted[id.Name] {
					calls = append(calls, clientCallsInNode(fd.Body)...)
				}
				w.add(calls...)
				return
			}
		}
	}
	w.problems = append(w.problems, fmt.Sprintf("the VPC client (App.%s) is handed somewhere this test cannot follow; pass it to a package's New or wrap it in an adapter type of internal/app", cloudField))
}

// clientCallsIn lists the client methods (named as their actions) that the
// package in dir calls.
func (w *appWalk) clientCallsIn(dir string) []string {
	var calls []string
	for _, f := range parsePackage(w.t, token.NewFileSet(), dir) {
		calls = append(calls, clientCallsInNode(f)...)
	}
	if len(calls) == 0 {
		w.problems = append(w.problems, fmt.Sprintf("%s is handed the VPC client but calls none of %v", dir, vpcclient.Actions))
	}
	return calls
}

// clientCallsInNode finds calls x.M(...) where M is a vpcclient action: the
// client's methods carry their action's name.
func clientCallsInNode(n ast.Node) []string {
	var calls []string
	ast.Inspect(n, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && slices.Contains(vpcclient.Actions, sel.Sel.Name) && !slices.Contains(calls, sel.Sel.Name) {
			calls = append(calls, sel.Sel.Name)
		}
		return true
	})
	return calls
}

// TestClientMethodsAreNamedAsTheirActions keeps clientCallsInNode right: a
// vpcclient.Client method per action, with the action's name.
func TestClientMethodsAreNamedAsTheirActions(t *testing.T) {
	files := parsePackage(t, token.NewFileSet(), cloudDir)
	var methods []string
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && ast.IsExported(fd.Name.Name) {
				methods = append(methods, fd.Name.Name)
			}
		}
	}
	for _, a := range vpcclient.Actions {
		if !slices.Contains(methods, a) {
			t.Errorf("vpcclient.Client has no method %s for the action %s: functionActions finds actions by the method's name", a, a)
		}
	}
}

// TestFunctionActions pins what the walk finds today, so that a change in
// what a function reaches is seen here and in its RAM policy at once:
// reconcile creates and deletes too, as it re-drives requests left unsent
// and finishes batches through the provision use case; a delete request
// reads the gateway's tags (DescribeVpnGateways) before DeleteVpnGateway.
func TestFunctionActions(t *testing.T) {
	want := map[string][]string{
		"provision": {vpcclient.ActionCreateVpnGateway, vpcclient.ActionDeleteVpnGateway, vpcclient.ActionDescribeVpnGateways},
		"reconcile": {vpcclient.ActionCreateVpnGateway, vpcclient.ActionDeleteVpnGateway, vpcclient.ActionDescribeVpnGateways},
		"webhook":   {vpcclient.ActionCreateVpnGateway, vpcclient.ActionDeleteVpnGateway, vpcclient.ActionDescribeVpnGateways},
	}
	for _, fn := range shipFunctions(t, "..") {
		got := functionActions(t, "..", fn)
		if !slices.Equal(got, want[fn]) {
			t.Errorf("functions/%s reaches %v, want %v (update this table and deploy/ram/%s.json together)", fn, got, want[fn], fn)
		}
	}
}

// shipRoleOf is the role a resource of s.yaml runs as: the var its role
// names, or the literal.
func shipRoleOf(s shipSYAML, name string) string {
	r, _ := s.Resources[name].Props["role"].(string)
	return r
}

// shipCheckRoles reports what breaks "one role per function" in s.yaml: a
// function without a role, two functions with the same role, a role not
// read from VPNGW_<FUNCTION>_ROLE_ARN (whose policy is deploy/ram/<fn>.json),
// or a managed policy named where the role is.
func shipCheckRoles(s shipSYAML) []string {
	var problems []string
	by := map[string]string{}
	var names []string
	for name, r := range s.Resources {
		if r.Component == "fc3" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		role := shipRoleOf(s, name)
		if role == "" {
			problems = append(problems, name+": no role")
			continue
		}
		if other, ok := by[role]; ok {
			problems = append(problems, fmt.Sprintf("%s and %s share the role %s: each function gets its own, with its own actions", other, name, role))
		}
		by[role] = name
		val, _ := s.shipResolve(role).(string)
		from, _, hasDef, ok := shipEnvRef(val)
		want := "VPNGW_" + strings.ToUpper(name) + "_ROLE_ARN"
		if !ok || from != want || hasDef {
			problems = append(problems, fmt.Sprintf("%s: role %s is %q, want ${env('%s')} (no default): the role whose policy is deploy/ram/%s.json", name, role, val, want, name))
		}
	}
	if strings.Contains(s.text, "AliyunFCDefaultRolePolicy") {
		problems = append(problems, "s.yaml names AliyunFCDefaultRolePolicy: Function Compute 3.0 uses its service-linked role for network interfaces and logs")
	}
	return problems
}

func TestShipSYAMLOneRolePerFunction(t *testing.T) {
	s := shipLoadSYAML(t, shipRoot(t))
	for _, p := range shipCheckRoles(s) {
		t.Error(p)
	}
	for _, fn := range shipFunctions(t, "..") {
		if _, ok := s.Resources[fn]; !ok {
			t.Errorf("s.yaml has no resource %s", fn)
		}
	}
}

func TestShipRoleCheckCatchesSharedRoles(t *testing.T) {
	root := shipRoot(t)
	shipCheckCatches(t, root, shipCheckRoles, []shipDrift{
		{"two functions, one role", func(s shipSYAML) {
			s.Resources["webhook"].Props["role"] = s.Resources["provision"].Props["role"]
		}, "share the role"},
		{"a role from another function's variable", func(s shipSYAML) {
			s.Vars["webhookRole"] = "${env('VPNGW_PROVISION_ROLE_ARN')}"
		}, "want ${env('VPNGW_WEBHOOK_ROLE_ARN')}"},
		{"no role", func(s shipSYAML) { delete(s.Resources["reconcile"].Props, "role") }, "reconcile: no role"},
	})
}

// TestShipSAMOneRolePerFunction: on Lambda each function runs as its own
// execution role. SAM creates one per function when none is named; a Role
// given to two functions would make them one.
func TestShipSAMOneRolePerFunction(t *testing.T) {
	sam := shipLoadSAM(t, shipRoot(t))
	if _, ok := sam.Globals.Function["Role"]; ok {
		t.Error("Globals.Function sets Role: every function would share it")
	}
	seen := map[string]string{}
	for name, r := range sam.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		role, ok := r.Properties["Role"]
		if !ok {
			continue // SAM creates <name>Role for this function alone
		}
		key := fmt.Sprint(role)
		if other, ok := seen[key]; ok {
			t.Errorf("%s and %s share the role %s", other, name, key)
		}
		seen[key] = name
	}
}

// shipLoadSAM parses the AWS SAM template.
func shipLoadSAM(t *testing.T, root string) shipSAM {
	t.Helper()
	data := shipReadFile(t, root, shipSAMPath)
	var sam shipSAM
	if err := yaml.Unmarshal(data, &sam); err != nil {
		t.Fatalf("%s: %v", shipSAMPath, err)
	}
	return sam
}

// shipReadFile reads a file of the repository.
func shipReadFile(t *testing.T, root, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFunctionActionsFollowsTheWiring runs the walk over small made-up
// trees shaped like internal/app, so that it is known to find an action a
// new path reaches and to refuse a client it cannot follow.
func TestFunctionActionsFollowsTheWiring(t *testing.T) {
	write := func(t *testing.T, root, rel, src string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const main = "package main\n\nimport \"github.com/vpngw/vpngw/internal/app\"\n\nfunc main() { app.RunFunction(\"x\", (*app.App).XHandler) }\n"
	const head = "package app\n\nimport (\n\t\"github.com/vpngw/vpngw/internal/watch\"\n)\n\ntype App struct{ Cloud, Watch, Other any }\n\n"
	for _, tc := range []struct {
		name, app, watch string
		want             []string
		problem          string
	}{
		{"through a package's New", head +
			"func New() *App { a := &App{}; a.Watch = watch.New(a.Cloud); return a }\n" +
			"func (a *App) XHandler() { a.Watch.(interface{ Run() }).Run() }\n",
			"package watch\n\nfunc New(c any) any { return c }\nfunc run(c interface{ DescribeVpnGateways() }) { c.DescribeVpnGateways() }\n",
			[]string{vpcclient.ActionDescribeVpnGateways}, ""},
		{"through an adapter and a local", head +
			"type adapter struct{ c any }\n\nfunc (x adapter) Do() { x.c.(interface{ CreateVpnGateway() }).CreateVpnGateway() }\n\n" +
			"func New() *App { a := &App{}; ad := adapter{c: a.Cloud}; a.Other = ad; return a }\n" +
			"func (a *App) XHandler() { a.helper() }\nfunc (a *App) helper() { _ = a.Other }\n",
			"package watch\n",
			[]string{vpcclient.ActionCreateVpnGateway}, ""},
		{"through an option's method expression", head +
			"type Option func(*options)\n\ntype options struct{ wire func(*App) }\n\n" +
			"func WithWire() Option { return func(o *options) { o.wire = (*App).wire } }\n" +
			"func New() *App { var o options; a := &App{}; if o.wire != nil { a.Other = func() { o.wire(a) } }; return a }\n" +
			"func (a *App) wire() { _ = watch.New(a.Cloud) }\nfunc (a *App) XHandler() { _ = a.Other }\n",
			"package watch\n\nfunc New(c any) any { return c }\nfunc run(c interface{ DescribeVpnGateways() }) { c.DescribeVpnGateways() }\n",
			[]string{vpcclient.ActionDescribeVpnGateways}, ""},
		{"not reached", head +
			"func New() *App { a := &App{}; a.Watch = watch.New(a.Cloud); return a }\n" +
			"func (a *App) XHandler() { _ = a.Other }\n",
			"package watch\n\nfunc run(c interface{ DescribeVpnGateways() }) { c.DescribeVpnGateways() }\n",
			nil, ""},
		{"the client used directly", head +
			"func New() *App { return &App{} }\nfunc (a *App) XHandler() { _ = a.Cloud }\n",
			"package watch\n", nil, "cannot follow"},
		{"the client handed on unseen", head +
			"func New() *App { a := &App{}; a.Other = []any{a.Cloud}; return a }\nfunc (a *App) XHandler() { _ = a.Other }\n",
			"package watch\n", nil, "cannot follow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, "functions/x/main.go", main)
			write(t, root, "internal/app/app.go", tc.app)
			write(t, root, "internal/watch/watch.go", tc.watch)
			src := loadAppSource(t, root)
			w := &appWalk{t: t, src: src, seen: map[string]bool{}, locals: localDefs(src.newFn)}
			w.member(handlerOf(t, root, "x"))
			sort.Strings(w.actions)
			if !slices.Equal(w.actions, tc.want) {
				t.Errorf("actions %v, want %v", w.actions, tc.want)
			}
			got := strings.Join(w.problems, "\n")
			if tc.problem == "" && got != "" || !strings.Contains(got, tc.problem) {
				t.Errorf("problems %q, want %q", got, tc.problem)
			}
		})
	}
}
