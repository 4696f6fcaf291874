package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make a schema of the test's own

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/testenv"
)

// exitOf runs a function binary under a runtime API that never invokes it
// and returns what it printed, once it exited (failing the test if it kept
// running: it started).
func exitOf(t *testing.T, bin string, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append([]string{"FC_RUNTIME_API=127.0.0.1:1"}, env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s kept running: it started\n%s", filepath.Base(bin), out)
	}
	if err == nil {
		t.Fatalf("%s exited 0\n%s", filepath.Base(bin), out)
	}
	return string(out)
}

// without returns env minus the variables named.
func without(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && k != n
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// The built functions, started under the FC runtime API with a PostgreSQL
// URL whose sslmode=disable, refuse to start, naming VPNGW_STORE_URL and
// what it takes, without printing the password; with
// VPNGW_ALLOW_INSECURE_TRANSPORT=1 the same URL starts them and provision
// serves.
func TestFunctionsRefuseAPlaintextStoreUnderTheRuntimeAPI(t *testing.T) {
	const pw = "the-database-password"
	plain := fmt.Sprintf("postgres://vpngw:%s@db.internal:5432/vpngw?sslmode=disable", pw)
	tlsOnly := []string{
		"VPNGW_STORE_URL=" + plain,
		"VPNGW_QUEUE_URL=tls://mq.internal:4222",
		"VPNGW_VPC_ENDPOINT=https://vpc.cn-hangzhou.aliyuncs.com",
		"VPNGW_POLICY_INLINE=" + app.LocalPolicy,
		"VPNGW_WEBHOOK_SECRET=" + webhookSecret,
		"PATH=" + os.Getenv("PATH"),
	}
	for _, name := range []string{"provision", "reconcile", "webhook"} {
		out := exitOf(t, build(t, name), tlsOnly)
		if !strings.Contains(out, "VPNGW_STORE_URL") || !strings.Contains(out, `sslmode=\"disable\"`) || !strings.Contains(out, "sslmode=verify-full") {
			t.Errorf("%s: start-up refusal does not name VPNGW_STORE_URL, its sslmode and what it takes:\n%s", name, out)
		}
		if strings.Contains(out, pw) {
			t.Errorf("%s printed the password:\n%s", name, out)
		}
		for _, other := range []string{"VPNGW_QUEUE_URL", "VPNGW_VPC_ENDPOINT"} {
			if strings.Contains(out, other) {
				t.Errorf("%s: refused %s, which is TLS:\n%s", name, other, out)
			}
		}
	}

	// Said in so many words, the flag lets the same kind of URL through:
	// on the test PostgreSQL when there is one, else on SQLite.
	p := newPlatform(t)
	if os.Getenv(testenv.PostgresEnv) != "" {
		p.env = append(without(p.env, "VPNGW_STORE_URL"), "VPNGW_STORE_URL="+testenv.StoreURL(t, "postgres"))
	}
	provision := p.start(t, "provision")
	sample := requestedSample(t)
	res := provision.invoke(t, sample)
	if res.Error != nil {
		t.Fatalf("provision with VPNGW_ALLOW_INSECURE_TRANSPORT=1: %+v", res.Error)
	}
	var answer struct{ Results []struct{ State string } }
	if err := json.Unmarshal(res.Payload, &answer); err != nil || len(answer.Results) != 1 || answer.Results[0].State != "pending" {
		t.Fatalf("provision answered %s (%v)", res.Payload, err)
	}
}

// A function (VPNGW_MIGRATE off by default) on a store never migrated
// refuses to start, naming the schema versions and the command; after
// `vpngwctl migrate` it starts and serves.
func TestFunctionsRefuseAnUnmigratedStoreUntilVpngwctlMigrate(t *testing.T) {
	p := newPlatform(t)
	p.env = without(p.env, "VPNGW_MIGRATE")
	bin := build(t, "provision")
	out := exitOf(t, bin, p.env)
	for _, part := range []string{"VPNGW_STORE_URL", "schema version 0", "this build needs version", "vpngwctl migrate"} {
		if !strings.Contains(out, part) {
			t.Errorf("start-up refusal does not say %q:\n%s", part, out)
		}
	}

	ctl := filepath.Join(t.TempDir(), "vpngwctl")
	if b, err := exec.Command("go", "build", "-o", ctl, "../cmd/vpngwctl").CombinedOutput(); err != nil {
		t.Fatalf("build vpngwctl: %v\n%s", err, b)
	}
	cmd := exec.Command(ctl, "migrate")
	cmd.Env = p.env
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "schema at version") {
		t.Fatalf("vpngwctl migrate: %v\n%s", err, b)
	}

	provision := p.start(t, "provision")
	sample := requestedSample(t)
	if res := provision.invoke(t, sample); res.Error != nil {
		t.Fatalf("provision after vpngwctl migrate: %+v", res.Error)
	}
}
