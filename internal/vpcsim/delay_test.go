package vpcsim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/testclock"
)

// Gateways take a time drawn from the range, each its own, and every one
// within it.
func TestProvisioningDelayRangeDrawsEachGatewaysTime(t *testing.T) {
	clock := testclock.New(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC))
	sim := startSim(t, WithClock(clock.Now), WithProvisioningDelayRange(time.Minute, 5*time.Minute))
	c := sim.client(t)
	const n = 40
	for range n {
		mustCreate(t, c, sim.createRequest())
	}
	activeAt := map[string]time.Duration{}
	for step := time.Duration(0); step <= 5*time.Minute; step += time.Second {
		for _, g := range sim.Gateways() {
			if _, seen := activeAt[g.ID]; !seen && g.Status == StatusActive {
				activeAt[g.ID] = step
			}
		}
		clock.Advance(time.Second)
	}
	if len(activeAt) != n {
		t.Fatalf("%d of %d gateways turned active within 5m", len(activeAt), n)
	}
	lo, hi := 5*time.Minute, time.Duration(0)
	for id, d := range activeAt {
		if d < time.Minute {
			t.Errorf("%s turned active after %s, before the range's 1m0s", id, d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 2*time.Minute || hi < 4*time.Minute {
		t.Errorf("%d gateways turned active between %s and %s: not spread over 1m0s to 5m0s", n, lo, hi)
	}
}

func TestAdminSetsTheProvisioningDelay(t *testing.T) {
	sim := startSim(t)
	put := func(body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, sim.ts.URL+"/_admin/provisioning-delay", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if code, body := put(`{"Min":"60s","Max":"300s"}`); code != http.StatusOK || !strings.Contains(body, `"5m0s"`) {
		t.Fatalf("PUT 60s-300s: %d %s", code, body)
	}
	if got := sim.ProvisioningDelay(); got.Min != Duration(time.Minute) || got.Max != Duration(5*time.Minute) {
		t.Fatalf("after PUT: %+v", got)
	}
	for body, want := range map[string]string{
		`{"Min":"300s","Max":"60s"}`: "Max 1m0s is below Min 5m0s",
		`{"Min":"soon"}`:             "soon",
		`{"Min":"-1s"}`:              "must not be negative",
	} {
		if code, got := put(body); code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("PUT %s: %d %s, want 400 naming %q", body, code, got, want)
		}
	}
	if got := sim.ProvisioningDelay(); got.Min != Duration(time.Minute) {
		t.Errorf("a refused PUT changed the delay: %+v", got)
	}
}
