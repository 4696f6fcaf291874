package vpcsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/vpngw/vpngw/internal/testclock"
)

func TestRateLimitAnswersThrottlingUserWithTheWaitingTime(t *testing.T) {
	clock := testclock.New(time.Date(2025, 6, 1, 12, 0, 30, 0, time.UTC))
	sim := startSim(t, WithClock(clock.Now), WithRateLimit(actionCreate, 2))
	c := sim.client(t)

	mustCreate(t, c, sim.createRequest())
	mustCreate(t, c, sim.createRequest())
	_, err := c.CreateVpnGateway(sim.createRequest())
	se := wantServerError(t, err, "Throttling.User", 400)
	reset := time.Date(2025, 6, 1, 12, 1, 0, 0, time.UTC).Unix()
	want := "Limit:2,Remain:0,TimeLeft:30000,Reset:" + strconv.FormatInt(reset, 10)
	if got := http.Header(se.RespHeaders).Get("x-ratelimit-user-api"); got != want {
		t.Fatalf("x-ratelimit-user-api %q, want %q", got, want)
	}

	// Other actions and other regions have their own budget.
	if _, err := c.DescribeVpnGateways(sim.listRequest()); err != nil {
		t.Fatalf("DescribeVpnGateways throttled by CreateVpnGateway's limit: %v", err)
	}
	r := sim.createRequest()
	r.RegionId, r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "cn-shanghai", "vpc-uf6vpngwdemo0000001", "vsw-uf6vpngwdemo0000001", "vsw-uf6vpngwdemo0000002"
	mustCreate(t, c, r)

	clock.Advance(29 * time.Second)
	_, err = c.CreateVpnGateway(sim.createRequest())
	se = wantServerError(t, err, "Throttling.User", 400)
	if got := http.Header(se.RespHeaders).Get("x-ratelimit-user-api"); !strings.Contains(got, "TimeLeft:1000,") {
		t.Fatalf("a second before the reset: %q", got)
	}
	clock.Advance(time.Second)
	mustCreate(t, c, sim.createRequest())

	if n := sim.Calls(actionCreate); n != 6 {
		t.Fatalf("Calls(CreateVpnGateway) = %d, want 6 (throttled calls count)", n)
	}
	if n := len(sim.Gateways()); n != 4 {
		t.Fatalf("%d gateways, want 4", n)
	}
}

// The wait a throttling answer says is the window's rest rounded up to
// the millisecond, on a clock that runs faster than the wall clock too: a
// call throttled in the last 20 ms of a window on a 20x clock (less than a
// wall-clock millisecond) was told TimeLeft:0, which says the window has
// ended while it has not, and which a client may read as no wait named.
func TestThrottlingWaitIsRoundedUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		speed  int
		before time.Duration // the call, this long before the window's end
		want   string
	}{
		{"20x clock, 10 ms before the end", 20, 10 * time.Millisecond, "1"},
		{"20x clock, 30 s before the end", 20, 30 * time.Second, "1500"},
		{"20x clock, 30 s and 1 ms before the end", 20, 30*time.Second + time.Millisecond, "1501"},
		{"wall clock, half a millisecond before the end", 1, 500 * time.Microsecond, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testclock.New(time.Date(2025, 6, 1, 12, 1, 0, 0, time.UTC).Add(-tc.before))
			sim := startSim(t, WithClock(clock.Now), WithClockSpeed(tc.speed), WithRateLimit(actionCreate, 1))
			c := sim.client(t)
			mustCreate(t, c, sim.createRequest())
			_, err := c.CreateVpnGateway(sim.createRequest())
			se := wantServerError(t, err, "Throttling.User", 400)
			h := http.Header(se.RespHeaders)
			if got := h.Get("x-acs-retry-after"); got != tc.want {
				t.Errorf("x-acs-retry-after %q, want %q", got, tc.want)
			}
			if got := h.Get("x-ratelimit-user-api"); !strings.Contains(got, ",TimeLeft:"+tc.want+",") {
				t.Errorf("x-ratelimit-user-api %q, want TimeLeft:%s", got, tc.want)
			}
		})
	}
}

func TestDefaultRateLimitsAreTheDocumentedOnes(t *testing.T) {
	l := DefaultRateLimits()
	if l[actionCreate] != 60 || l[actionDescribe] != 600 || l[actionDescribeList] != 600 {
		t.Fatalf("DefaultRateLimits() = %v", l)
	}
}

func TestInjectedThrottlingAndServerErrors(t *testing.T) {
	sim := startSim(t)
	c := sim.client(t)

	if err := sim.SetFaults(Faults{ThrottleRate: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DescribeVpnGateways(sim.listRequest())
	se := wantServerError(t, err, "Throttling.User", 400)
	if http.Header(se.RespHeaders).Get("x-ratelimit-user-api") == "" {
		t.Fatal("injected throttling lacks x-ratelimit-user-api")
	}

	if err := sim.SetFaults(Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 20 {
		_, err := c.CreateVpnGateway(sim.createRequest())
		var se *sdkerrors.ServerError
		if !errors.As(err, &se) {
			t.Fatalf("want a server error, got %v", err)
		}
		switch {
		case se.ErrorCode() == "InternalError" && se.HttpStatus() == 500,
			se.ErrorCode() == "ServiceUnavailable" && se.HttpStatus() == 503:
			seen[se.ErrorCode()] = true
		default:
			t.Fatalf("unexpected %s %d", se.ErrorCode(), se.HttpStatus())
		}
	}
	if !seen["InternalError"] || !seen["ServiceUnavailable"] {
		t.Fatalf("want both server errors in 20 calls, saw %v", seen)
	}
	if n := len(sim.Gateways()); n != 0 {
		t.Fatalf("failed calls created %d gateways", n)
	}

	if err := sim.SetFaults(Faults{ThrottleRate: 1.5}); err == nil {
		t.Fatal("a rate above 1 was accepted")
	}
	if err := sim.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c, sim.createRequest())
}

func TestInjectedLatency(t *testing.T) {
	sim := startSim(t, WithFaults(Faults{Latency: 60 * time.Millisecond}))
	start := time.Now()
	if _, err := sim.client(t).DescribeVpnGateways(sim.listRequest()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("answered after %v, before the injected latency", d)
	}
}

func TestLostCreateAnswerIsRecoveredWithTheClientToken(t *testing.T) {
	sim := startSim(t, WithFaults(Faults{LostCreateRate: 1}))
	c := sim.client(t)

	r := sim.createRequest()
	r.ClientToken = "lost-answer-token"
	_, err := c.CreateVpnGateway(r)
	if err == nil {
		t.Fatal("the answer should have been lost")
	}
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		t.Fatalf("want a transport error, got a server answer: %v", err)
	}
	gws := sim.Gateways()
	if len(gws) != 1 || gws[0].ClientToken != "lost-answer-token" {
		t.Fatalf("the call must have been carried out: %+v", gws)
	}

	if err := sim.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	retry := sim.createRequest()
	retry.ClientToken = "lost-answer-token"
	resp := mustCreate(t, c, retry)
	if resp.VpnGatewayId != gws[0].ID || resp.OrderId != gws[0].OrderID {
		t.Fatalf("retry answered %s, the lost call created %s", resp.VpnGatewayId, gws[0].ID)
	}
	if n := len(sim.Gateways()); n != 1 {
		t.Fatalf("%d gateways after the retry, want 1", n)
	}
}

func TestAdminHTTP(t *testing.T) {
	sim := startSim(t)
	c := sim.client(t)
	id := mustCreate(t, c, sim.createRequest()).VpnGatewayId
	base := sim.ts.URL + "/_admin"

	do := func(method, path, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	var gws []Gateway
	if resp := do("GET", "/gateways", ""); resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&gws) != nil || len(gws) != 1 || gws[0].ID != id {
		t.Fatalf("GET /gateways: %d %+v", resp.StatusCode, gws)
	}
	var calls map[string]int
	if resp := do("GET", "/calls", ""); json.NewDecoder(resp.Body).Decode(&calls) != nil || calls[actionCreate] != 1 {
		t.Fatalf("GET /calls: %v", calls)
	}

	if resp := do("PUT", "/faults", `{"ThrottleRate":0.25,"Latency":"15ms","LostCreateRate":0.5}`); resp.StatusCode != 200 {
		t.Fatalf("PUT /faults: %d", resp.StatusCode)
	}
	if f := sim.CurrentFaults(); f != (Faults{ThrottleRate: 0.25, Latency: 15 * time.Millisecond, LostCreateRate: 0.5}) {
		t.Fatalf("faults %+v", f)
	}
	var f Faults
	if resp := do("GET", "/faults", ""); json.NewDecoder(resp.Body).Decode(&f) != nil || f.Latency != 15*time.Millisecond {
		t.Fatalf("GET /faults: %+v", f)
	}
	if resp := do("POST", "/faults", `{"ServerErrorRate":2}`); resp.StatusCode != 400 {
		t.Fatalf("an invalid rate was accepted: %d", resp.StatusCode)
	}
	if resp := do("POST", "/faults", `{"Latency":1000000}`); resp.StatusCode != 200 || sim.CurrentFaults() != (Faults{Latency: time.Millisecond}) {
		t.Fatalf("Latency in nanoseconds: %d %+v", resp.StatusCode, sim.CurrentFaults())
	}
	if err := sim.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}

	if resp := do("PUT", "/gateways/"+id+"/business-status", `{"BusinessStatus":"FinancialLocked"}`); resp.StatusCode != 204 {
		t.Fatalf("PUT business-status: %d", resp.StatusCode)
	}
	var g Gateway
	if resp := do("GET", "/gateways/"+id, ""); json.NewDecoder(resp.Body).Decode(&g) != nil || g.BusinessStatus != BusinessFinancialLocked {
		t.Fatalf("GET /gateways/{id}: %+v", g)
	}
	if resp := do("DELETE", "/gateways/"+id, ""); resp.StatusCode != 204 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if resp := do("GET", "/gateways/"+id, ""); resp.StatusCode != 404 {
		t.Fatalf("GET a deleted gateway: %d", resp.StatusCode)
	}
	// The admin interface is not an API call.
	if n := sim.Calls(actionDescribe); n != 0 {
		t.Fatalf("admin reads counted as API calls: %d", n)
	}
}

func TestStartServesTheAPI(t *testing.T) {
	sim := New()
	addr, shutdown, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	ts := &testSim{Server: sim, host: addr}
	if _, err := ts.client(t).CreateVpnGateway(ts.createRequest()); err != nil {
		t.Fatalf("CreateVpnGateway through Start: %v", err)
	}
}

func TestRateLimitForEveryActionWithAnExemption(t *testing.T) {
	// A clock that stands still: on the wall clock the per-minute window
	// could roll over between the two creates.
	at := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	sim := startSim(t, WithClock(func() time.Time { return at }), WithRateLimit("", 1), WithRateLimit(actionDescribeList, 0))
	c := sim.client(t)
	mustCreate(t, c, sim.createRequest())
	_, err := c.CreateVpnGateway(sim.createRequest())
	wantServerError(t, err, "Throttling.User", 400)
	for range 3 {
		if _, err := c.DescribeVpnGateways(sim.listRequest()); err != nil {
			t.Fatalf("exempt action throttled: %v", err)
		}
	}
}

// A throttling answer carries both header styles SDKs read, unless the
// emulator is told to send one alone.
func TestThrottlingHeaderStyles(t *testing.T) {
	for _, tc := range []struct {
		name                string
		opt                 ThrottleHeaders
		rateLimit, retryMsG string
	}{
		{"both", BothThrottleHeaders, "TimeLeft:45000,", "45000"},
		{"x-ratelimit-user-api only", RateLimitHeaderOnly, "TimeLeft:45000,", ""},
		{"x-acs-retry-after only", RetryAfterHeaderOnly, "", "45000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testclock.New(time.Date(2025, 6, 1, 12, 0, 15, 0, time.UTC))
			sim := startSim(t, WithClock(clock.Now), WithRateLimit(actionDescribeList, 1), WithThrottleHeaders(tc.opt))
			c := sim.client(t)
			if _, err := c.DescribeVpnGateways(sim.listRequest()); err != nil {
				t.Fatal(err)
			}
			_, err := c.DescribeVpnGateways(sim.listRequest())
			se := wantServerError(t, err, "Throttling.User", 400)
			h := http.Header(se.RespHeaders)
			if got := h.Get("x-ratelimit-user-api"); (tc.rateLimit == "") != (got == "") || !strings.Contains(got, tc.rateLimit) {
				t.Errorf("x-ratelimit-user-api %q, want %q", got, tc.rateLimit)
			}
			if got := h.Get("x-acs-retry-after"); got != tc.retryMsG {
				t.Errorf("x-acs-retry-after %q, want %q", got, tc.retryMsG)
			}
		})
	}
}
