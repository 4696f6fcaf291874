package deploy_test

import (
	"context"
	"debug/elf"
	"debug/gosym"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
)

// A shipped function binary does not link SQLite (a file in one instance is
// reached by no other): given a sqlite:// store it refuses to start, naming
// the variable and what it takes, instead of failing at the first request.
func TestShipFunctionsRefuseSQLite(t *testing.T) {
	root := shipRoot(t)
	shipPackage(t, root)
	for _, fn := range shipFunctions(t, root) {
		t.Run(fn, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(root, "dist", fn, fn))
			cmd.Env = []string{
				// Nothing listens there: the function must stop before it asks.
				"FC_RUNTIME_API=127.0.0.1:9",
				"VPNGW_STORE_URL=sqlite://" + filepath.Join(t.TempDir(), "vpngw.db"),
				"VPNGW_QUEUE_URL=log:",
				"VPNGW_ALLOW_INSECURE_TRANSPORT=1",
				"VPNGW_POLICY_INLINE=" + app.LocalPolicy,
				"VPNGW_WEBHOOK_SECRET=ship-test-secret-not-used-for-anything",
				"VPNGW_WEBHOOK_SECRET_SOURCES=*",
			}
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("still running after 20s with a sqlite:// store:\n%s", out)
			}
			if err == nil {
				t.Fatalf("exited 0 with a sqlite:// store:\n%s", out)
			}
			for _, want := range []string{"VPNGW_STORE_URL", "sqlite", "postgres://", "mysql://"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("the refusal does not say %q:\n%s", want, out)
				}
			}
		})
	}
}

// linkedFuncs lists the functions a Go binary holds, read from its
// .gopclntab: a stripped binary keeps them, as stack traces need their names.
func linkedFuncs(t *testing.T, bin string) []string {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sec, text := f.Section(".gopclntab"), f.Section(".text")
	if sec == nil || text == nil {
		t.Fatalf("%s has no .gopclntab or .text", bin)
	}
	data, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	names := make([]string, 0, len(tab.Funcs))
	for _, fn := range tab.Funcs {
		names = append(names, fn.Name)
	}
	return names
}

// Each function links only what it serves: the webhook's routes (the HTTP
// handlers, signature checks and chat command parsing of internal/webhook)
// are in the webhook function's binary alone; provision and reconcile serve
// no HTTP trigger and carry none of it.
func TestShipOnlyTheWebhookLinksItsRoutes(t *testing.T) {
	root := shipRoot(t)
	shipPackage(t, root)
	const routes = "github.com/vpngw/vpngw/internal/webhook.New"
	for _, fn := range shipFunctions(t, root) {
		linked := slices.Contains(linkedFuncs(t, filepath.Join(root, "dist", fn, fn)), routes)
		if want := fn == "webhook"; linked != want {
			t.Errorf("dist/%s/%s links %s: %v, want %v", fn, fn, routes, linked, want)
		}
	}
}
