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

// pgTLSListener answers PostgreSQL's SSLRequest with 'S' and completes a TLS
// handshake with a certificate for 127.0.0.1 signed by a CA of the test's
// own, whose PEM it writes to caFile; after the handshake it hangs up. It
// reports each handshake's outcome on the returned channel.
func pgTLSListener(t *testing.T, caFile string) (string, <-chan error) {
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
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
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
				req := make([]byte, 8) // length 8, code 80877103
				if _, err := io.ReadFull(c, req); err != nil {
					return
				}
				c.Write([]byte{'S'})
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
	addr, handshakes := pgTLSListener(t, caFile)
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
