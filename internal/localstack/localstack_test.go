package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// The local stack does what the README promises for `make run` and its curl:
// the sample request, posted six times (five of them at once), leaves one
// gateway, and the terminal shows accepted, then active, for it, as a plain
// NATS subscriber received them.
func TestLocalStackEndToEnd(t *testing.T) {
	cfg := localConfig(t, map[string]string{"VPNGW_EMULATOR_DELAY": "300ms", "VPNGW_RECONCILE_INTERVAL": "100ms"})
	out := &testenv.SyncBuffer{}
	l, err := Start(context.Background(), cfg, logging.New(io.Discard, "text", nil), out)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	sample, err := events.Samples.ReadFile("testdata/requested.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func() int {
		resp, err := http.Post("http://"+l.HTTPAddr+"/", "application/cloudevents+json", bytes.NewReader(sample))
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusAccepted {
		t.Fatalf("first post: %d, want 202", code)
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code := post(); code != http.StatusAccepted {
				t.Errorf("repeat post: %d, want 202", code)
			}
		}()
	}
	wg.Wait()
	gws := l.Emulator.Gateways()
	if len(gws) != 1 {
		t.Fatalf("emulator holds %d gateways, want 1", len(gws))
	}
	id := gws[0].ID
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(out.String(), events.TypeActive) {
		time.Sleep(50 * time.Millisecond)
	}
	got := out.String()
	acc := strings.Index(got, events.TypeAccepted+"  id=")
	act := strings.Index(got, events.TypeActive+"  id=")
	if acc < 0 || act < acc || strings.Count(got, "subject="+id) != 2 {
		t.Fatalf("terminal shows:\n%s\nwant accepted then active for %s, once each", got, id)
	}
}

// Someone who uses Alibaba Cloud has their own key exported, as the aliyun
// CLI and the SDKs expect. `make run` still makes a gateway on the embedded
// emulator: the stack signs with the emulator's demo key, the banner says
// which key (its ID only), and the user's secret is printed nowhere.
func TestLocalStackWithTheUsersOwnKeyExported(t *testing.T) {
	const userKeyID, userSecret = "LTAI5tUsersOwnRealKey01", "users-own-real-secret-never-print"
	cfg := localConfig(t, map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     userKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": userSecret,
		"ALIBABA_CLOUD_SECURITY_TOKEN":    "users-own-token-never-print",
	})
	logs, out := &testenv.SyncBuffer{}, &testenv.SyncBuffer{}
	l, err := Start(context.Background(), cfg, logging.New(logs, "text", nil), out)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Banner(out)

	sample, err := events.Samples.ReadFile("testdata/requested.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := postEvent(t, l, sample); code != http.StatusAccepted || !strings.Contains(body, `"pending"`) {
		t.Fatalf("the README's curl: %d %s, want 202 and a pending gateway", code, body)
	}
	if n := len(l.Emulator.Gateways()); n != 1 {
		t.Fatalf("emulator holds %d gateways, want 1", n)
	}
	banner := out.String()
	if !strings.Contains(banner, "access key "+vpcsim.DefaultAccessKeyID) || !strings.Contains(banner, "ALIBABA_CLOUD_ACCESS_KEY_ID is not used") {
		t.Fatalf("banner does not say which key signs:\n%s", banner)
	}
	for _, secret := range []string{userSecret, "users-own-token-never-print", vpcsim.DefaultAccessKeySecret} {
		if strings.Contains(banner+logs.String(), secret) {
			t.Fatalf("%q printed:\n%s\n%s", secret, banner, logs.String())
		}
	}
}

// startLocalEnv starts the local stack with env on top of free ports and a
// temporary data directory.
func startLocalEnv(t *testing.T, extra map[string]string) (*Stack, *testenv.SyncBuffer) {
	t.Helper()
	cfg := localConfig(t, extra)
	out := &testenv.SyncBuffer{}
	l, err := Start(context.Background(), cfg, logging.New(io.Discard, "text", nil), out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, out
}

// localConfig is the local stack's configuration from the environment
// extra, over a fresh data directory and any free ports (NATS's too, so
// that a test never meets a running `make run`).
func localConfig(t *testing.T, extra map[string]string) app.Config {
	t.Helper()
	env := map[string]string{
		"VPNGW_DATA_DIR":      t.TempDir(),
		"VPNGW_HTTP_ADDR":     "127.0.0.1:0",
		"VPNGW_EMULATOR_ADDR": "127.0.0.1:0",
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := app.FromEnv(func(k string) string { return env[k] }, app.Local)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NATSPort = 0
	return cfg
}

// postEvent posts a CloudEvent to the stack's HTTP trigger and returns the
// status code and the body of the answer.
func postEvent(t *testing.T, l *Stack, ev []byte) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+l.HTTPAddr+"/", "application/cloudevents+json", bytes.NewReader(ev))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The local stack's emulator is a new account: the default gateway quota
// (30) and the documented rate limits (CreateVpnGateway 60 a minute) hold
// unless VPNGW_EMULATOR_QUOTA says otherwise.
func TestLocalEmulatorIsANewAccount(t *testing.T) {
	l, _ := startLocalEnv(t, nil)
	// Straight to the emulator, without vpngw's own client-side limit.
	c, err := vpcclient.New(vpcclient.Config{Endpoint: "http://" + l.APIAddr, MaxAttempts: 1, Rates: map[string]float64{},
		Credentials: cloud.Credentials{AccessKeyID: vpcsim.DefaultAccessKeyID, AccessKeySecret: vpcsim.DefaultAccessKeySecret}})
	if err != nil {
		t.Fatal(err)
	}
	bandwidth := 10
	r := events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-bp1vpngwdemo0000001", VSwitchId: "vsw-bp1vpngwdemo0000001",
		DisasterRecoveryVSwitchId: "vsw-bp1vpngwdemo0000002", Bandwidth: &bandwidth}
	var quotaFull, throttled int
	// A clock minute may turn during the loop and reset the window, so
	// the limit shows within twice its size.
	for i := 0; i < 125 && throttled == 0; i++ {
		_, err := c.CreateVpnGateway(context.Background(), r, fmt.Sprintf("token-%d", i))
		var ce *cloud.Error
		switch {
		case err == nil:
		case errors.As(err, &ce) && ce.Code == "Resource.QuotaFull":
			quotaFull++
			if !strings.Contains(ce.Message, "vpn_quota_instances_num") || !strings.Contains(ce.Message, "Quota Center") {
				t.Fatalf("quota message %q does not name the quota and how to raise it", ce.Message)
			}
		case errors.As(err, &ce) && ce.Code == "Throttling.User":
			throttled++
		default:
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if n := len(l.Emulator.Gateways()); n != app.DefaultGatewayQuota || quotaFull == 0 || throttled == 0 {
		t.Fatalf("%d gateways, %d quota-full, %d throttled: want %d, some of each", n, quotaFull, throttled, app.DefaultGatewayQuota)
	}
}

// A Resource.QuotaFull failure tells the requester which quota is full and
// how to raise it; VPNGW_EMULATOR_QUOTA sets the emulator's quota.
func TestLocalQuotaFullNamesTheQuota(t *testing.T) {
	l, _ := startLocalEnv(t, map[string]string{"VPNGW_EMULATOR_QUOTA": "1"})
	post := func(id string) (int, string) { return postEvent(t, l, sampleWithID(t, id)) }
	if code, body := post("q-1"); code != http.StatusAccepted {
		t.Fatalf("first: %d %s", code, body)
	}
	code, body := post("q-2")
	if code != http.StatusBadRequest || !strings.Contains(body, "Resource.QuotaFull") || !strings.Contains(body, "vpn_quota_instances_num") || !strings.Contains(body, "Quota Center") {
		t.Fatalf("second: %d %s, want a failure naming vpn_quota_instances_num and Quota Center", code, body)
	}
}

// sampleWithID is the README's sample request under another event id.
func sampleWithID(t *testing.T, id string) []byte {
	t.Helper()
	return sampleEdited(t, func(ev map[string]any) { ev["id"] = id })
}

// sampleEdited is the README's sample request as edit leaves it.
func sampleEdited(t *testing.T, edit func(ev map[string]any)) []byte {
	t.Helper()
	b, err := events.Samples.ReadFile("testdata/requested.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	edit(ev)
	b, err = json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// With the timer at a minute, a gateway that turns active 20 s after the
// post is announced seconds later, not at the next minute: the post starts
// a tick, and the tick keeps checking while the gateway is pending. (This
// waits about 20 s of wall-clock time.)
func TestLocalStackAnnouncesWithinSecondsOfActive(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 20 s for the emulator's gateway")
	}
	l, out := startLocalEnv(t, map[string]string{"VPNGW_RECONCILE_INTERVAL": "60s", "VPNGW_EMULATOR_DELAY": "20s"})
	posted := time.Now()
	if code, _ := postEvent(t, l, sampleWithID(t, "announce-1")); code != http.StatusAccepted {
		t.Fatalf("post: %d, want 202", code)
	}
	for !strings.Contains(out.String(), events.TypeActive) {
		if time.Since(posted) > 30*time.Second {
			t.Fatalf("no %s event 30 s after the post (the timer is at 60 s); terminal:\n%s", events.TypeActive, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("announced %s after the post; the gateway turned active 20 s after its creation", time.Since(posted).Round(100*time.Millisecond))
}

// The whole life of a gateway through `make run`: the sample request
// creates it, the sample delete request (naming that request) deletes it,
// the emulator no longer holds it, and the queue carries deleted for it. A
// delete of a gateway vpngw did not create is refused with the reason.
func TestLocalStackDeletes(t *testing.T) {
	l, out := startLocalEnv(t, map[string]string{"VPNGW_EMULATOR_DELAY": "300ms", "VPNGW_RECONCILE_INTERVAL": "100ms"})
	post := func(sample string) (int, string) {
		body, err := events.Samples.ReadFile("testdata/" + sample)
		if err != nil {
			t.Fatal(err)
		}
		return postEvent(t, l, body)
	}
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && !strings.Contains(out.String(), what) {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(out.String(), what) {
			t.Fatalf("terminal shows:\n%s\nwant %s", out.String(), what)
		}
	}
	if code, body := post("requested.json"); code != http.StatusAccepted {
		t.Fatalf("create: %d %s", code, body)
	}
	waitFor(events.TypeActive + "  id=")
	id := l.Emulator.Gateways()[0].ID

	if code, body := post(events.TypeDeleteRequested + ".json"); code != http.StatusAccepted || !strings.Contains(body, id) {
		t.Fatalf("delete: %d %s", code, body)
	}
	waitFor(events.TypeDeleted + "  id=")
	if n := len(l.Emulator.Gateways()); n != 0 {
		t.Fatalf("the emulator holds %d gateways after the deletion", n)
	}
	if !strings.Contains(out.String(), "subject="+id) {
		t.Fatalf("terminal shows:\n%s\nwant the deleted event for %s", out.String(), id)
	}
	code, body := post("delete-requested-by-id.json")
	if code != http.StatusBadRequest || !strings.Contains(body, events.CodeNotCreatedByVpngw) || !strings.Contains(body, "deletes only gateways it created") {
		t.Fatalf("delete of a gateway vpngw did not create: %d %s", code, body)
	}
	waitFor(`"Stage":"deletion"`)
}

// A gateway asked for with vpngwexpires 30s through `make run` (the sample
// request, without its time, so the 30 s count from its receipt) is
// announced expiring, deleted about 30 s later, and announced deleted; the
// emulator no longer holds it.
func TestLocalStackExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 30 s of wall time for the expiry")
	}
	l, out := startLocalEnv(t, map[string]string{"VPNGW_EMULATOR_DELAY": "300ms", "VPNGW_RECONCILE_INTERVAL": "200ms"})
	body := sampleEdited(t, func(ev map[string]any) {
		delete(ev, "time")
		ev["id"] = "demo-expires-0001"
		ev["vpngwexpires"] = "30s"
	})
	sent := time.Now()
	if code, b := postEvent(t, l, body); code != http.StatusAccepted {
		t.Fatalf("create: %d %s", code, b)
	}
	waitFor := func(what string, within time.Duration) time.Duration {
		t.Helper()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) && !strings.Contains(out.String(), what) {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(out.String(), what) {
			t.Fatalf("terminal shows:\n%s\nwant %s", out.String(), what)
		}
		return time.Since(sent)
	}
	waitFor(events.TypeActive+"  id=", 10*time.Second)
	id := l.Emulator.Gateways()[0].ID
	waitFor(events.TypeExpiring+"  id=", 10*time.Second)
	if strings.Contains(out.String(), events.TypeDeleted) {
		t.Fatalf("deleted before its expiry:\n%s", out.String())
	}
	after := waitFor(events.TypeDeleted+"  id=", 40*time.Second)
	if after < 30*time.Second {
		t.Fatalf("deleted %s after the request, before its 30 s expiry", after)
	}
	if n := len(l.Emulator.Gateways()); n != 0 {
		t.Fatalf("the emulator holds %d gateways after the expiry", n)
	}
	if !strings.Contains(out.String(), "subject="+id) || strings.Count(out.String(), events.TypeExpiring+"  id=") != 1 {
		t.Fatalf("terminal shows:\n%s\nwant one expiring and the deleted event for %s", out.String(), id)
	}
	t.Logf("deleted and announced %s after the request", after.Round(100*time.Millisecond))
}
