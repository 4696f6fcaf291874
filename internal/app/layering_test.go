package app_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Infrastructure modules that only the composition root (this package) and
// the adapters it builds may pull in: the cloud SDK, the database drivers and
// the broker clients.
var infrastructure = []string{
	"github.com/aliyun/alibaba-cloud-sdk-go",
	"github.com/jackc/pgx",
	"github.com/go-sql-driver/mysql",
	"modernc.org/sqlite",
	"github.com/nats-io/",
	"github.com/rabbitmq/amqp091-go",
}

// infrastructureDeps lists the entries of infrastructure that pkg depends on,
// directly or not, each with the first of its packages found.
func infrastructureDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	var found []string
	for _, dep := range strings.Fields(string(out)) {
		for _, prefix := range infrastructure {
			if strings.HasPrefix(dep, prefix) && !strings.Contains(strings.Join(found, " "), prefix) {
				found = append(found, prefix+" ("+dep+")")
				break
			}
		}
	}
	return found
}

// TestUseCasesImportNoInfrastructure keeps the use cases and the event
// contract free of the SDK, drivers and broker clients: they declare the
// interfaces they consume and import only the record and API types
// (internal/store, internal/cloud), so each can be read, tested and reused
// without a database, a broker or the cloud.
func TestUseCasesImportNoInfrastructure(t *testing.T) {
	pkgs := []string{
		"github.com/vpngw/vpngw/events",
		"github.com/vpngw/vpngw/internal/request",
		"github.com/vpngw/vpngw/internal/intake",
		"github.com/vpngw/vpngw/internal/policy",
		"github.com/vpngw/vpngw/internal/outcome",
		"github.com/vpngw/vpngw/internal/outgoing",
		"github.com/vpngw/vpngw/internal/redact",
		"github.com/vpngw/vpngw/internal/pause",
		"github.com/vpngw/vpngw/internal/provision",
		"github.com/vpngw/vpngw/internal/reconcile",
		"github.com/vpngw/vpngw/internal/outbox",
		"github.com/vpngw/vpngw/internal/webhook",
		"github.com/vpngw/vpngw/internal/ctlsend",
		"github.com/vpngw/vpngw/internal/ctl",
		// The edges, too, reach the store and the broker only through
		// the ports they declare.
		"github.com/vpngw/vpngw/internal/runtime",
		"github.com/vpngw/vpngw/internal/store",
		"github.com/vpngw/vpngw/internal/cloud",
	}
	for _, pkg := range pkgs {
		if deps := infrastructureDeps(t, pkg); len(deps) > 0 {
			t.Errorf("%s depends on %s; declare an interface and let internal/app pass the adapter in", pkg, strings.Join(deps, ", "))
		}
	}
	// The check itself: the composition root, with the local stack that
	// adds SQLite to it, does pull all of them in.
	deps := strings.Join(append(infrastructureDeps(t, "github.com/vpngw/vpngw/internal/app"),
		infrastructureDeps(t, "github.com/vpngw/vpngw/internal/localstack")...), " ")
	for _, prefix := range infrastructure {
		if !strings.Contains(deps, prefix) {
			t.Errorf("internal/app does not depend on %s: is the prefix in infrastructure still right?", prefix)
		}
	}
}

// The event contract is a plain data package (events/doc.go): of vpngw's
// it imports only internal/textcut, and that only the standard library, so
// a producer or consumer that imports events pulls in nothing else of vpngw.
func TestEventContractImportsOnlyTextcut(t *testing.T) {
	for pkg, allowed := range map[string][]string{
		"github.com/vpngw/vpngw/events":           {"github.com/vpngw/vpngw/events", "github.com/vpngw/vpngw/internal/textcut"},
		"github.com/vpngw/vpngw/internal/textcut": {"github.com/vpngw/vpngw/internal/textcut"},
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/vpngw/vpngw/") && !slices.Contains(allowed, dep) {
				t.Errorf("%s depends on %s; it may import of vpngw's only %v", pkg, dep, allowed)
			}
		}
	}
}

// testOnly lists what a deployed function must never link: the VPC API
// emulator and its RPC plumbing, the embedded NATS server, the local stack,
// and the packages that exist for tests (fakes, clocks, suites, benchmarks,
// the fault suite, the tools).
var testOnly = []string{
	"github.com/vpngw/vpngw/internal/vpcsim",
	"github.com/vpngw/vpngw/internal/acsrpc",
	"github.com/vpngw/vpngw/internal/localstack",
	"github.com/vpngw/vpngw/internal/queue/natsembed",
	"github.com/vpngw/vpngw/internal/queue/queuetest",
	"github.com/vpngw/vpngw/internal/store/storetest",
	"github.com/vpngw/vpngw/internal/testclock",
	"github.com/vpngw/vpngw/internal/apptest",
	"github.com/vpngw/vpngw/internal/testenv",
	"github.com/vpngw/vpngw/internal/bench",
	"github.com/vpngw/vpngw/internal/faults",
	"github.com/vpngw/vpngw/internal/tools/",
	"github.com/vpngw/vpngw/internal/secrets/kmssim",
	"github.com/vpngw/vpngw/internal/secrets/extsim",
	"github.com/nats-io/nats-server/",
	// franz-go is the Kafka sink's test broker (kfake) and test consumer
	// (kgo); the sink produces through internal/queue/kafkawire, a fifth
	// of franz-go's size in the zip (docs/PERFORMANCE.md).
	"github.com/twmb/franz-go/",
	"testing",
	// SQLite is the local stack's store: a file in one function instance
	// is reached by no other, so deployed functions take postgres:// or
	// mysql:// and do not carry the SQLite C runtime (a quarter of the
	// binary); function tests link it with -tags sqlite.
	"github.com/vpngw/vpngw/internal/store/sqlstore/sqlite",
	"modernc.org/",
	// PostgreSQL goes through the store's own driver over pgconn: pgx's
	// database/sql adapter and pgx itself carry its type system (pgtype's
	// codecs), about 620 KB of each zip. pgconn still imports pgtype for
	// one constant, so pgtype is in the list of dependencies but only its
	// package initialisation (about 5 KB) is linked.
	"github.com/jackc/pgx/v5/stdlib",
	"github.com/jackc/pgx/v5/pgxpool",
}

// notLinkedExactly lists packages a deployed function must not link whose
// own subpackages it may: pgx's root package (its Conn, type map and
// query modes), of which the functions link only pgconn.
var notLinkedExactly = []string{
	"github.com/jackc/pgx/v5",
}

// Every function's binary links only what runs in the cloud: `go list -deps`
// of each functions/<name> names no emulator, no NATS server, no local
// stack, no franz-go and no test-only package.
func TestFunctionsLinkNoTestOnlyPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", "github.com/vpngw/vpngw/functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list functions: %v\n%s", err, out)
	}
	var fns []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/vpngw/vpngw/functions/") {
			fns = append(fns, p)
		}
	}
	if len(fns) < 3 {
		t.Fatalf("found functions %q, want provision, reconcile and webhook at least", fns)
	}
	for _, fn := range fns {
		deps, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", fn).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", fn, err, deps)
		}
		for _, dep := range strings.Fields(string(deps)) {
			for _, bad := range testOnly {
				if dep == bad || strings.HasPrefix(dep, strings.TrimSuffix(bad, "/")+"/") {
					t.Errorf("%s links %s: a deployed function carries no emulator, embedded server, SQLite, pgx adapter, franz-go or test-only package", fn, dep)
				}
			}
			if slices.Contains(notLinkedExactly, dep) {
				t.Errorf("%s links %s: PostgreSQL goes through package pgdriver over pgconn, not pgx's connection and type map", fn, dep)
			}
		}
	}
}

// The intake parses deliveries into items and knows nothing of what consumes
// them: the provision use case takes the items (provision.Inputs,
// provision.BusInputs), and both read request.EventError.
func TestIntakeDoesNotImportProvision(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/vpngw/vpngw/internal/intake").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps intake: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/vpngw/vpngw/internal/provision" {
			t.Error("internal/intake depends on internal/provision")
		}
	}
}
