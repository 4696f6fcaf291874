package bench

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/testenv"
)

// These tests check that the benchmarks measure what they say they do: each
// provision op creates exactly one gateway, a tick over n pending gateways
// makes ceil(n/50) list calls and the poller n, and the memory figures come
// from the process's own status. They time nothing.

// Every op of BenchmarkProvision is a new request that creates one gateway
// and leaves it recorded Pending; the same event again (a redelivery) would
// create nothing, which is why each op has an event id of its own.
func TestProvisionHarnessCreatesOneGatewayPerRequest(t *testing.T) {
	kinds := []string{"sqlite"}
	if os.Getenv(testenv.PostgresEnv) != "" || testenv.Required() {
		kinds = append(kinds, "postgres")
	}
	for _, kind := range kinds {
		for _, via := range []string{"inprocess", "http"} {
			t.Run(via+"/"+kind, func(t *testing.T) {
				s := newStack(t, kind, nil)
				t.Cleanup(s.Close)
				send := provisionSender(t, s, via)
				ctx := context.Background()
				ids := []string{"h-1", "h-2", "h-3"}
				for _, id := range ids {
					if err := sendOne(ctx, send, id); err != nil {
						t.Fatal(err)
					}
				}
				if err := sendOne(ctx, send, ids[0]); err != nil {
					t.Fatalf("redelivery: %v", err)
				}
				if n := s.emu.api.Calls("CreateVpnGateway"); n != len(ids) {
					t.Fatalf("%d CreateVpnGateway calls, want %d", n, len(ids))
				}
				gws := s.emu.api.Gateways()
				if len(gws) != len(ids) {
					t.Fatalf("emulator holds %d gateways, want %d", len(gws), len(ids))
				}
				seen := map[string]bool{}
				for _, id := range ids {
					key := request.Identity{Source: "acs:eventbridge:bench", EventID: id}.Key()
					rec, err := s.App.Store.Get(ctx, key)
					if err != nil || rec.State != store.Pending || rec.GatewayID == "" || seen[rec.GatewayID] {
						t.Fatalf("request %s recorded as %+v (%v); want Pending with a gateway of its own", id, rec, err)
					}
					seen[rec.GatewayID] = true
				}
				if s.emu.busyTime() <= 0 {
					t.Fatal("the emulator's busy time was not counted")
				}
			})
		}
	}
}

func TestBareSDKCreatorCreatesDistinctGateways(t *testing.T) {
	emu := newEmulator()
	t.Cleanup(emu.Close)
	create := sdkCreator(t, emu)
	a, err := create("tok-a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := create("tok-b")
	if err != nil {
		t.Fatal(err)
	}
	again, err := create("tok-a")
	if err != nil {
		t.Fatal(err)
	}
	if a == b || again != a {
		t.Fatalf("gateways %s, %s, and %s for tok-a again: want two distinct, the token reused answering the first", a, b, again)
	}
	if n := emu.api.Calls("CreateVpnGateway"); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
}

// The headline of the reconcile comparison, on a small scale: 120 pending
// gateways take 3 DescribeVpnGateways calls a tick (50 a page) and 120
// DescribeVpnGateway calls a polling round; a tick over gateways still
// provisioning changes nothing, so it can be repeated; a settling tick
// settles and publishes every one.
func TestReconcileHarnessCounts(t *testing.T) {
	const n = 120
	f := newReconcileFixture(t, n, false)
	t.Cleanup(f.Close)
	for range 2 {
		before := f.api().Calls("DescribeVpnGateways")
		rep, err := f.tick(false)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.api().Calls("DescribeVpnGateways") - before; got != 3 || rep.APICalls != 3 {
			t.Fatalf("tick over %d pending: the emulator counted %d calls, the tick %d; want 3", n, got, rep.APICalls)
		}
	}
	poll := perGatewayPoller(t, f.emu)
	before := f.api().Calls("DescribeVpnGateway")
	calls, err := poll(f.ids)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.api().Calls("DescribeVpnGateway") - before; got != n || calls != n {
		t.Fatalf("poller over %d: the emulator counted %d calls, the poller %d; want %d", n, got, calls, n)
	}

	settled := newReconcileFixture(t, n, true)
	t.Cleanup(settled.Close)
	for round := range 2 {
		if !settled.fresh {
			if err := settled.seed(); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := settled.tick(true)
		settled.fresh = false
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if rep.APICalls != 3 {
			t.Fatalf("round %d: %d calls, want 3", round, rep.APICalls)
		}
	}
}

func TestProcStatus(t *testing.T) {
	m, err := procStatus(os.Getpid(), "VmHWM", "VmRSS")
	if err != nil {
		if strings.Contains(err.Error(), "/proc") && !fileExists("/proc/self/status") {
			t.Skipf("no /proc on this system: %v", err)
		}
		t.Fatal(err)
	}
	if m["VmRSS"] <= 0 || m["VmHWM"] < m["VmRSS"] {
		t.Fatalf("VmHWM %d kB, VmRSS %d kB: want a positive RSS and a peak at least as high", m["VmHWM"], m["VmRSS"])
	}
	if _, err := procStatus(os.Getpid(), "VmNoSuchField"); err == nil {
		t.Fatal("a missing field was not reported")
	}
	if _, err := procStatus(-1, "VmRSS"); err == nil {
		t.Fatal("a missing process was not reported")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
