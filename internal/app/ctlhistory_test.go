package app_test

import (
	"context"
	"encoding/json"
	"github.com/vpngw/vpngw/internal/app"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
)

// vpngwctl history prints what GET /requests answers: the request's state
// and each change with who made it and why, as a table and as JSON; a
// request it does not know is exit status 1 with what to give instead.
func TestCtlHistoryPrintsEachChange(t *testing.T) {
	s := newStack(t)
	resp, err := s.provision(requestEvent("ctl-life", validData()))
	if err != nil || resp.Results[0].State != store.Pending {
		t.Fatalf("provision: %+v %v", resp, err)
	}
	gw := resp.Results[0].VpnGatewayId
	s.Clock.Advance(3 * time.Minute)
	if _, err := s.App.Reconcile.Tick(t.Context(), reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VPNGW_STORE_URL": s.App.Config.StoreURL}
	ctl := func(args ...string) (int, string, string) {
		var out, errOut strings.Builder
		code := app.Ctl(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := ctl("history", "acs:eventbridge:tickets", "ctl-life")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 || !strings.Contains(lines[0], "active, gateway "+gw) ||
		!strings.Contains(lines[2], "received") || !strings.Contains(lines[2], "provision") || !strings.Contains(lines[2], "allowed by rule local-allow-all") ||
		!strings.Contains(lines[3], "pending") || !strings.Contains(lines[3], gw) || !strings.Contains(lines[3], "CreateVpnGateway accepted") ||
		!strings.Contains(lines[4], "active") || !strings.Contains(lines[4], "reconcile") {
		t.Fatalf("vpngwctl history: %d\n%s\n%s", code, out, errOut)
	}

	code, out, _ = ctl("history", "-o", "json", "acs:eventbridge:tickets", "ctl-life")
	var got struct {
		State   store.State
		History []historyEntry
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.State != store.Active || len(got.History) != 3 ||
		got.History[2].Actor != "reconcile" || got.History[1].VpnGatewayId != gw {
		t.Fatalf("vpngwctl history -o json: %d %v\n%s", code, err, out)
	}

	if code, _, errOut := ctl("history", "acs:eventbridge:tickets", "nope"); code != 1 || !strings.Contains(errOut, `no request with source "acs:eventbridge:tickets" and id "nope"`) {
		t.Errorf("unknown request: %d %q", code, errOut)
	}
	if code, _, errOut := ctl("history", "only-source"); code != 2 || !strings.Contains(errOut, "usage: vpngwctl history") {
		t.Errorf("bad usage: %d %q", code, errOut)
	}
	if code, out, _ := ctl("history", "--help"); code != 0 || !strings.Contains(out, "examples:") {
		t.Errorf("--help: %d %q", code, out)
	}

	// The built binary, as an operator runs it.
	bin := filepath.Join(t.TempDir(), "vpngwctl")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/vpngw/vpngw/cmd/vpngwctl").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "history", "acs:eventbridge:tickets", "ctl-life")
	cmd.Env = []string{"VPNGW_STORE_URL=" + s.App.Config.StoreURL}
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "allowed by rule local-allow-all") {
		t.Fatalf("built vpngwctl history: %v\n%s", err, b)
	}
}
