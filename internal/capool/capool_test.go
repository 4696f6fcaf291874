package capool_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/capool"
)

func writeFile(t *testing.T, body []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSigned is a CA certificate made for the test, and its PEM encoding.
func selfSigned(t *testing.T) (*x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "capool test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoadTrustsTheBundle(t *testing.T) {
	cert, body := selfSigned(t)
	pool, err := capool.Load(writeFile(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("the bundle's CA is not trusted: %v", err)
	}
}

func TestLoadRefusesWhatIsNoBundle(t *testing.T) {
	for _, c := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "none.pem"), "cannot read the CA bundle: no such file or directory"},
		{"not PEM", writeFile(t, []byte("not a certificate\n")), "holds no PEM certificate: want the CA bundle (-----BEGIN CERTIFICATE-----)"},
	} {
		pool, err := capool.Load(c.path)
		if err == nil || err.Error() != c.want || pool != nil {
			t.Errorf("%s: Load = %v, %v; want nil and %q", c.name, pool, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: the error repeats the path: %v", c.name, err)
		}
	}
}
