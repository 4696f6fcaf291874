package testenv

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// UnreachableEndpoints returns HTTP endpoints that fail in each way a
// transport can, by name: "connection refused" (nothing listening),
// "timeout" (a listener that accepts and never answers), "untrusted TLS" (a
// certificate nobody trusts) and "DNS failure" (a name that does not
// resolve). Everything it starts ends with the test.
func UnreachableEndpoints(t testing.TB) map[string]string {
	t.Helper()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()

	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		hang.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})

	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	return map[string]string{
		"connection refused": refused,
		"timeout":            "http://" + hang.Addr().String(),
		"untrusted TLS":      tlsSrv.URL,
		"DNS failure":        "http://vpc.vpngw-unreachable.invalid",
	}
}
