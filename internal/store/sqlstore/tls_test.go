package sqlstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// testServerTLS writes a CA of the test's own to caFile (PEM) and returns a
// server configuration whose certificate, for 127.0.0.1, it signed.
func testServerTLS(t *testing.T, caFile string) *tls.Config {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// tlsListener accepts connections, lets hello speak the protocol's plaintext
// opening, completes a TLS handshake with cfg and hangs up. It reports each
// handshake's outcome on the returned channel.
func tlsListener(t *testing.T, cfg *tls.Config, hello func(net.Conn) error) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	results := make(chan error, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := hello(c); err != nil {
					return
				}
				tc := tls.Server(c, cfg)
				select {
				case results <- tc.Handshake():
				default:
				}
			}()
		}
	}()
	return ln.Addr().String(), results
}

// WithCA makes PostgreSQL verify the server against the bundle: with
// sslmode=verify-full, or require (which then verifies the chain), the
// handshake with a certificate of a private CA succeeds; verify-full
// without the bundle refuses it.
func TestPostgresVerifiesAgainstWithCA(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	// PostgreSQL's SSLRequest (length 8, code 80877103), answered 'S'.
	addr, handshakes := tlsListener(t, testServerTLS(t, caFile), func(c net.Conn) error {
		if _, err := io.ReadFull(c, make([]byte, 8)); err != nil {
			return err
		}
		_, err := c.Write([]byte{'S'})
		return err
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(pem)

	try := func(mode string, opts ...sqlstore.Option) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := sqlstore.OpenSQL(ctx, "postgres://vpngw@"+addr+"/vpngw?connect_timeout=5&sslmode="+mode, append(opts, sqlstore.WithoutMigrate())...)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = s.CheckSchema(ctx)
		if err == nil {
			t.Fatalf("sslmode=%s: the listener speaks no PostgreSQL after TLS, yet the query succeeded", mode)
		}
		return err
	}
	// With the bundle the handshake passes and the connection fails later,
	// when the listener hangs up instead of answering the startup message.
	for _, mode := range []string{"verify-full", "require"} {
		if err := try(mode, sqlstore.WithCA(caFile, pool)); strings.Contains(err.Error(), "x509") || strings.Contains(err.Error(), "tls:") {
			t.Errorf("sslmode=%s with WithCA: %v", mode, err)
		}
	}
	if n := len(handshakes); n == 0 {
		t.Fatal("no TLS handshake reached the listener")
	}
	if err := try("verify-full"); !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Errorf("sslmode=verify-full without the CA: %v, want the certificate refused", err)
	}
}

// sslmode=require (or verify-full) against a server that answers the TLS
// request with N, as a PostgreSQL server without ssl does, is refused
// before the startup message, and so before a password or a statement,
// goes out in the clear.
func TestPostgresRequireRefusesAServerWithoutTLS(t *testing.T) {
	sentAfterN := make(chan int, 8)
	addr, _ := tlsListener(t, &tls.Config{}, func(c net.Conn) error {
		if _, err := io.ReadFull(c, make([]byte, 8)); err != nil {
			return err
		}
		if _, err := c.Write([]byte{'N'}); err != nil {
			return err
		}
		n, _ := c.Read(make([]byte, 512))
		sentAfterN <- n
		return io.EOF // no TLS handshake follows
	})
	for _, mode := range []string{"require", "verify-full"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := sqlstore.OpenSQL(ctx, "postgres://vpngw:pw@"+addr+"/vpngw?connect_timeout=5&sslmode="+mode, sqlstore.WithoutMigrate())
		if err != nil {
			t.Fatal(err)
		}
		err = s.CheckSchema(ctx)
		s.Close()
		cancel()
		if err == nil || !strings.Contains(err.Error(), "server refused TLS") {
			t.Errorf("sslmode=%s against a server without TLS: %v, want the connection refused for it", mode, err)
		}
		select {
		case n := <-sentAfterN:
			if n != 0 {
				t.Errorf("sslmode=%s: after the server's N the client sent %d more bytes, want none", mode, n)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("sslmode=%s: the listener saw no SSLRequest", mode)
		}
	}
}

// WithCA makes MySQL's tls=true verify the server against the bundle: the
// handshake with a certificate of a private CA passes with it and is refused
// without it.
func TestMySQLVerifiesAgainstWithCA(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	// The server's greeting (protocol 10) offering SSL, then the client's
	// 32-byte SSL request.
	addr, handshakes := tlsListener(t, testServerTLS(t, caFile), func(c net.Conn) error {
		var caps uint32 = 0x00000200 | 0x00000800 | 0x00008000 | 0x00080000 // protocol 41, SSL, secure connection, plugin auth
		var p []byte
		p = append(p, 10)
		p = append(p, "8.0.0-test\x00"...)
		p = append(p, 1, 0, 0, 0)                // connection id
		p = append(p, "abcdefgh"...)             // auth data, part 1
		p = append(p, 0)                         // filler
		p = append(p, byte(caps), byte(caps>>8)) // capabilities, lower
		p = append(p, 45)                        // utf8mb4
		p = append(p, 2, 0)                      // status
		p = append(p, byte(caps>>16), byte(caps>>24))
		p = append(p, 21)
		p = append(p, make([]byte, 10)...)
		p = append(p, "ijklmnopqrst\x00"...) // auth data, part 2
		p = append(p, "mysql_native_password\x00"...)
		hdr := []byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), 0}
		if _, err := c.Write(append(hdr, p...)); err != nil {
			return err
		}
		_, err := io.ReadFull(c, make([]byte, 4+32))
		return err
	})
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(b)
	try := func(opts ...sqlstore.Option) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := sqlstore.OpenSQL(ctx, "mysql://vpngw@"+addr+"/vpngw?tls=true&timeout=5s", append(opts, sqlstore.WithoutMigrate())...)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = s.CheckSchema(ctx)
		if err == nil {
			t.Fatal("the listener speaks no MySQL after TLS, yet the query succeeded")
		}
		return err
	}
	if err := try(sqlstore.WithCA(caFile, pool)); strings.Contains(err.Error(), "x509") {
		t.Errorf("tls=true with WithCA: %v", err)
	}
	if len(handshakes) == 0 {
		t.Fatal("no TLS handshake reached the listener")
	}
	if hs := <-handshakes; hs != nil {
		t.Errorf("tls=true with WithCA: the server's handshake failed: %v", hs)
	}
	if err := try(); !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Errorf("tls=true without the CA: %v, want the certificate refused", err)
	}
}
