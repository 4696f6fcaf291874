package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnknownVars(t *testing.T) {
	got := UnknownVars([]string{
		"PATH=/bin", "VPNGW_STORE_URL=sqlite://x", "VPNGW_POLICY_FILE=p.yaml", "VPNGW_CONCURENCY=4",
		"VPNGW_TEST_NATS_URL=nats://x", "VPNGW_FAULT_SEED=1", "VPNGW_WEBHOOK_SECRET_SECRET=name",
		"VPNGW_ZZZZZZZZZZZZZZZZZZZZZZZZZZ=1", "VPNGW_REGION=cn-hangzhou",
		"VPNGW_STORE_PASSWORD_SECRET=vpngw-db", "VPNGW_STORE_PASSWORD=pw", "VPNGW_CONCURRENCY_SECRET=x", "VPNGW_POLICY_FILE=again",
	})
	want := []string{
		"VPNGW_CONCURENCY is not a variable vpngw reads; did you mean VPNGW_CONCURRENCY?",
		// Only a secret-valued variable may name a secret instead.
		"VPNGW_CONCURRENCY_SECRET is not a variable vpngw reads; did you mean VPNGW_CONCURRENCY?",
		"VPNGW_POLICY_FILE is not a variable vpngw reads; did you mean VPNGW_POLICY?",
		"VPNGW_ZZZZZZZZZZZZZZZZZZZZZZZZZZ is not a variable vpngw reads; did you mean ",
	}
	if len(got) != len(want) {
		t.Fatalf("UnknownVars = %q, want %d messages", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("message %d = %q, want it to start %q", i, got[i], want[i])
		}
	}
}

// Each report says where every variable is listed, and that page exists
// and lists them: a reader of the warning can look the right name up.
func TestUnknownVarsPointAtTheVariableTable(t *testing.T) {
	got := UnknownVars([]string{"VPNGW_POLICY_FILE=p.yaml"})
	if len(got) != 1 {
		t.Fatalf("UnknownVars = %q, want one message", got)
	}
	const page = "docs/CONFIGURATION.md"
	if !strings.HasSuffix(got[0], "("+page+" lists every variable)") {
		t.Errorf("message %q does not point at %s", got[0], page)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", page))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "| `VPNGW_POLICY` |") {
		t.Errorf("%s has no row for VPNGW_POLICY", page)
	}
}
