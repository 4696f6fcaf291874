package app_test

import (
	"os/exec"
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
		"github.com/vpngw/vpngw/internal/provision",
		"github.com/vpngw/vpngw/internal/reconcile",
		"github.com/vpngw/vpngw/internal/outbox",
		"github.com/vpngw/vpngw/internal/webhook",
		"github.com/vpngw/vpngw/internal/ctlsend",
		"github.com/vpngw/vpngw/internal/store",
		"github.com/vpngw/vpngw/internal/cloud",
	}
	for _, pkg := range pkgs {
		if deps := infrastructureDeps(t, pkg); len(deps) > 0 {
			t.Errorf("%s depends on %s; declare an interface and let internal/app pass the adapter in", pkg, strings.Join(deps, ", "))
		}
	}
	// The check itself: the composition root does pull all of them in.
	deps := strings.Join(infrastructureDeps(t, "github.com/vpngw/vpngw/internal/app"), " ")
	for _, prefix := range infrastructure {
		if !strings.Contains(deps, prefix) {
			t.Errorf("internal/app does not depend on %s: is the prefix in infrastructure still right?", prefix)
		}
	}
}
