package vpcsim

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A key can be rotated, disabled, stripped of a permission and deleted while
// the emulator runs, through the methods and the admin interface; each
// answers what the service answers to the SDK, with its HTTP status.
func TestAccessKeyLifecycle(t *testing.T) {
	sim := startSim(t)
	c := sim.client(t)
	list := func() error { _, err := c.DescribeVpnGateways(sim.listRequest()); return err }
	if err := list(); err != nil {
		t.Fatal(err)
	}

	old, err := sim.RotateAccessKey(DefaultAccessKeyID, "rotated-secret")
	if err != nil || old != DefaultAccessKeySecret {
		t.Fatalf("rotate: %q %v", old, err)
	}
	wantServerError(t, list(), "SignatureDoesNotMatch", http.StatusBadRequest)
	if _, err := sim.clientWith(t, demoRegion, DefaultAccessKeyID, "rotated-secret").DescribeVpnGateways(sim.listRequest()); err != nil {
		t.Fatalf("the new secret is refused: %v", err)
	}

	admin := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, sim.ts.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	path := "/_admin/access-keys/" + DefaultAccessKeyID
	if code := admin("PUT", path, `{"AccessKeySecret":"`+DefaultAccessKeySecret+`","Disabled":true}`); code != http.StatusNoContent {
		t.Fatalf("PUT %s: %d", path, code)
	}
	wantServerError(t, list(), "InvalidAccessKeyId.Inactive", http.StatusBadRequest)

	if code := admin("PUT", path, `{"DeniedActions":["DescribeVpnGateways"]}`); code != http.StatusNoContent {
		t.Fatalf("PUT %s: %d", path, code)
	}
	wantServerError(t, list(), "Forbidden.RAM", http.StatusForbidden)
	// Only the denied action: another still answers.
	if _, err := c.DescribeVpnGateway(sim.describeRequest("vpn-bp1nosuch00000000000")); err == nil || strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("an action not denied: %v", err)
	}

	if code := admin("DELETE", path, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE %s: %d", path, code)
	}
	wantServerError(t, list(), "InvalidAccessKeyId.NotFound", http.StatusNotFound)
	if code := admin("DELETE", path, ""); code != http.StatusNotFound {
		t.Fatalf("DELETE of a deleted key: %d, want 404", code)
	}

	if err := sim.SetAccessKey(Credential{AccessKeyID: DefaultAccessKeyID, AccessKeySecret: DefaultAccessKeySecret}); err != nil {
		t.Fatal(err)
	}
	if err := list(); err != nil {
		t.Fatalf("restored key: %v", err)
	}
}

// The admin interface never hands a secret or a token back.
func TestAdminAccessKeyHidesTheSecret(t *testing.T) {
	sim := startSim(t, WithSTSToken("STS.key", "sts-secret-hidden", "sts-token-hidden", time.Time{}))
	resp, err := http.Get(sim.ts.URL + "/_admin/access-keys/STS.key")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "STS.key") || strings.Contains(string(b), "hidden") {
		t.Fatalf("GET access key: %d %s", resp.StatusCode, b)
	}
}
