package testenv_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/testenv"
)

// Each endpoint fails the way its name says, under a client that waits
// 300ms: refused, timed out, an untrusted certificate, a name that does
// not resolve.
func TestUnreachableEndpointsFailEachTheirWay(t *testing.T) {
	endpoints := testenv.UnreachableEndpoints(t)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	for name, says := range map[string]string{
		"connection refused": "connection refused",
		"timeout":            "Client.Timeout exceeded",
		"untrusted TLS":      "certificate",
		"DNS failure":        "no such host",
	} {
		t.Run(name, func(t *testing.T) {
			endpoint, ok := endpoints[name]
			if !ok {
				t.Fatalf("no %q endpoint in %v", name, endpoints)
			}
			resp, err := client.Get(endpoint)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s answered %s, want an error", endpoint, resp.Status)
			}
			var dnsErr *net.DNSError
			if !strings.Contains(err.Error(), says) && !(name == "DNS failure" && errors.As(err, &dnsErr)) {
				t.Errorf("GET %s: %v, want an error saying %q", endpoint, err, says)
			}
		})
	}
	if len(endpoints) != 4 {
		t.Errorf("endpoints %v, want the four above", endpoints)
	}
}
