package app

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
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// A function refuses every store, broker and API endpoint it would reach
// without TLS that verifies the server, naming the variable and what it
// takes, and never the URL's password; it accepts the verified forms.
func TestFunctionRefusesTransportWithoutVerifiedTLS(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeTestCA(t, caFile)
	const pw = "pa55-w0rd-of-the-db"
	refused := []struct{ name, value, want string }{
		{"VPNGW_STORE_URL", "postgres://vpngw:" + pw + "@db.internal:5432/vpngw", "sslmode=verify-full"},
		{"VPNGW_STORE_URL", "postgres://vpngw:" + pw + "@db.internal:5432/vpngw?sslmode=disable", `sslmode="disable"`},
		{"VPNGW_STORE_URL", "postgres://vpngw:" + pw + "@db.internal:5432/vpngw?sslmode=prefer", `sslmode="prefer"`},
		{"VPNGW_STORE_URL", "postgres://vpngw:" + pw + "@db.internal:5432/vpngw?sslmode=allow", `sslmode="allow"`},
		// require without a CA encrypts but takes any certificate.
		{"VPNGW_STORE_URL", "postgresql://vpngw:" + pw + "@db.internal:5432/vpngw?sslmode=require", "sslmode=require with a CA"},
		{"VPNGW_STORE_URL", "postgres://vpngw@db.internal:5432/vpngw?sslmode=verify-ca", "sslmode=require with a CA"},
		// A password in the query is not printed either.
		{"VPNGW_STORE_URL", "postgres://db.internal:5432/vpngw?user=vpngw&password=" + pw + "&sslmode=disable", "sslmode=verify-full"},
		{"VPNGW_STORE_URL", "mysql://vpngw:" + pw + "@db.internal:3306/vpngw", "no tls parameter"},
		{"VPNGW_STORE_URL", "mysql://vpngw:" + pw + "@db.internal:3306/vpngw?tls=false", "want tls=true"},
		{"VPNGW_STORE_URL", "mysql://vpngw:" + pw + "@db.internal:3306/vpngw?tls=skip-verify", "skip-verify and preferred do not verify"},
		{"VPNGW_STORE_URL", "mysql://vpngw:" + pw + "@db.internal:3306/vpngw?tls=preferred", "skip-verify and preferred do not verify"},
		{"VPNGW_QUEUE_URL", "nats://vpngw:" + pw + "@mq.internal:4222", "want tls://host:4222"},
		{"VPNGW_QUEUE_URL", "nats://" + pw + "@mq.internal:4222", "want tls://host:4222"},
		{"VPNGW_QUEUE_URL", "amqp://vpngw:" + pw + "@mq.internal:5672/vpngw?exchange=vpngw", "want amqps://"},
		{"VPNGW_QUEUE_URL", "log:", "log: writes outcome events to the function's log"},
		{"VPNGW_VPC_ENDPOINT", "http://vpc.cn-hangzhou.aliyuncs.com", "want https://host[:port]"},
	}
	for _, tc := range refused {
		_, err := FromEnv(functionEnv(map[string]string{tc.name: tc.value}), Function)
		if err == nil {
			t.Errorf("%s=%s accepted", tc.name, tc.value)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.name+":") || !strings.Contains(msg, tc.want) || !strings.Contains(msg, "VPNGW_ALLOW_INSECURE_TRANSPORT=1") {
			t.Errorf("%s=%s: error %q does not name the variable, %q and the way out", tc.name, tc.value, msg, tc.want)
		}
		if strings.Contains(msg, pw) {
			t.Errorf("%s: error prints the password: %s", tc.name, msg)
		}
		// Said in so many words, the flag lets it through; the local
		// stack never asks.
		if _, err := FromEnv(functionEnv(map[string]string{tc.name: tc.value, "VPNGW_ALLOW_INSECURE_TRANSPORT": "1"}), Function); err != nil {
			t.Errorf("%s=%s with VPNGW_ALLOW_INSECURE_TRANSPORT=1: %v", tc.name, tc.value, err)
		}
		if _, err := FromEnv(func(k string) string { return map[string]string{tc.name: tc.value}[k] }, Local); err != nil {
			t.Errorf("%s=%s refused by the local stack: %v", tc.name, tc.value, err)
		}
	}

	accepted := []struct {
		name, value string
		extra       map[string]string
	}{
		{"VPNGW_STORE_URL", "postgres://vpngw@db.internal:5432/vpngw?sslmode=verify-full", nil},
		{"VPNGW_STORE_URL", "postgres://vpngw@db.internal:5432/vpngw?sslmode=require&sslrootcert=/code/ca.pem", nil},
		{"VPNGW_STORE_URL", "postgres://vpngw@db.internal:5432/vpngw?sslmode=verify-ca&sslrootcert=/code/ca.pem", nil},
		{"VPNGW_STORE_URL", "postgres://vpngw@db.internal:5432/vpngw?sslmode=require", map[string]string{"VPNGW_CA_FILE": caFile}},
		{"VPNGW_STORE_URL", "postgres://vpngw@db.internal:5432/vpngw?sslrootcert=system", nil},
		{"VPNGW_STORE_URL", "mysql://vpngw@db.internal:3306/vpngw?tls=true", nil},
		{"VPNGW_STORE_URL", "mysql://vpngw@db.internal:3306/vpngw?tls=1", map[string]string{"VPNGW_CA_FILE": caFile}},
		{"VPNGW_STORE_URL", "sqlite:///tmp/vpngw.db", nil},
		{"VPNGW_QUEUE_URL", "tls://mq.internal:4222", nil},
		{"VPNGW_QUEUE_URL", "amqps://vpngw@mq.internal:5671/vpngw?exchange=vpngw", nil},
		{"VPNGW_VPC_ENDPOINT", "https://vpc.cn-hangzhou.aliyuncs.com", nil},
	}
	for _, tc := range accepted {
		env := map[string]string{tc.name: tc.value}
		for k, v := range tc.extra {
			env[k] = v
		}
		if _, err := FromEnv(functionEnv(env), Function); err != nil {
			t.Errorf("%s=%s (%v) refused: %v", tc.name, tc.value, tc.extra, err)
		}
	}

	// The flag takes 1 and nothing else; the CA bundle must hold a
	// certificate.
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for _, tc := range []struct{ name, value, want string }{
		{"VPNGW_ALLOW_INSECURE_TRANSPORT", "true", "want 1"},
		{"VPNGW_ALLOW_INSECURE_TRANSPORT", "yes", "want 1"},
		{"VPNGW_ALLOW_INSECURE_TRANSPORT", "0", "want 1"},
		{"VPNGW_CA_FILE", filepath.Join(t.TempDir(), "missing.pem"), "cannot read"},
		{"VPNGW_CA_FILE", notPEM, "holds no PEM certificate"},
		{"VPNGW_MIGRATE", "yes", "want on"},
	} {
		_, err := FromEnv(functionEnv(map[string]string{tc.name: tc.value}), Function)
		if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: %v, want an error naming it and %q", tc.name, tc.value, err, tc.want)
		}
	}
}

// VPNGW_MIGRATE is off in a function unless said, on in the local stack.
func TestMigrateDefaults(t *testing.T) {
	c, err := FromEnv(functionEnv(nil), Function)
	if err != nil || c.Migrate {
		t.Fatalf("function: Migrate=%v (%v), want off by default", c.Migrate, err)
	}
	c, err = FromEnv(functionEnv(map[string]string{"VPNGW_MIGRATE": "on"}), Function)
	if err != nil || !c.Migrate {
		t.Fatalf("function with VPNGW_MIGRATE=on: Migrate=%v (%v)", c.Migrate, err)
	}
	c, err = FromEnv(func(string) string { return "" }, Local)
	if err != nil || !c.Migrate {
		t.Fatalf("local: Migrate=%v (%v), want on by default", c.Migrate, err)
	}
}

// writeTestCA writes a self-signed CA certificate (PEM) to path and returns
// the key and certificate that sign server certificates with it.
func writeTestCA(t *testing.T, path string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, der := signTestCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vpngw test CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, ca
}

// serverCert is a certificate for 127.0.0.1 signed by the CA.
func serverCert(t *testing.T, caKey *ecdsa.PrivateKey, ca *x509.Certificate) tls.Certificate {
	t.Helper()
	key, der := signTestCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// signTestCert makes a new P-256 key and a certificate for it from tmpl,
// valid from an hour ago to an hour from now, signed by parent with
// parentKey, or self-signed when parent is nil. It returns the key and the
// certificate's DER.
func signTestCert(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// The VPC endpoint's certificate is verified against VPNGW_CA_FILE: with the
// bundle a function reaches an HTTPS endpoint signed by a private CA; without
// it the same endpoint is refused, so the bundle is what is trusted.
func TestVPCEndpointVerifiedAgainstTheCAFile(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	caKey, ca := writeTestCA(t, caFile)
	srv := httptest.NewUnstartedServer(vpcsim.New())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert(t, caKey, ca)}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)

	start := func(withCA bool) *App {
		env := map[string]string{
			"VPNGW_STORE_URL":    "sqlite://" + filepath.Join(t.TempDir(), "vpngw.db"),
			"VPNGW_QUEUE_URL":    "tls://127.0.0.1:1", // never dialled: WithPublisher
			"VPNGW_VPC_ENDPOINT": srv.URL,
			"VPNGW_MIGRATE":      "on",
			"VPNGW_API_RATES":    "CreateVpnGateway=0,DescribeVpnGateways=0",
			// In process there is no function role.
			"ALIBABA_CLOUD_ACCESS_KEY_ID":     vpcsim.DefaultAccessKeyID,
			"ALIBABA_CLOUD_ACCESS_KEY_SECRET": vpcsim.DefaultAccessKeySecret,
		}
		if withCA {
			env["VPNGW_CA_FILE"] = caFile
		}
		cfg, err := FromEnv(functionEnv(env), Function)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := queue.NewLogPublisher(io.Discard)
		a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), WithPublisher(pub))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := start(true).Cloud.DescribeVpnGateways(ctx, "cn-hangzhou", cloud.Filter{}, 1, 10); err != nil {
		t.Fatalf("with VPNGW_CA_FILE: %v", err)
	}
	// A refused certificate is retried as a transport failure; the last
	// attempt's cause is reported.
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	_, err := start(false).Cloud.DescribeVpnGateways(short, "cn-hangzhou", cloud.Filter{}, 1, 10)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without VPNGW_CA_FILE: %v, want the certificate refused", err)
	}
}

// VPNGW_CA_FILE reaches the brokers as the parameter each client reads:
// ca_file for NATS over TLS, cacertfile for AMQPS; a CA the URL names wins,
// and plaintext URLs are left alone.
func TestQueueURLWithCA(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tls://mq.internal:4222", "tls://mq.internal:4222?ca_file=%2Fcode%2Fca.pem"},
		{"tls://mq.internal:4222/vpngw?stream=V", "tls://mq.internal:4222/vpngw?ca_file=%2Fcode%2Fca.pem&stream=V"},
		{"tls://mq.internal:4222?ca_file=/other.pem", "tls://mq.internal:4222?ca_file=/other.pem"},
		{"amqps://u@mq.internal:5671/v?exchange=vpngw", "amqps://u@mq.internal:5671/v?cacertfile=%2Fcode%2Fca.pem&exchange=vpngw"},
		{"amqps://u@mq.internal:5671/v?cacertfile=/other.pem", "amqps://u@mq.internal:5671/v?cacertfile=/other.pem"},
		{"nats://mq.internal:4222", "nats://mq.internal:4222"},
		{"log:", "log:"},
	} {
		got := queueURLWithCA(tc.in, "/code/ca.pem")
		if got != tc.want {
			t.Errorf("queueURLWithCA(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// The publishers take the parameter (they connect on first use).
		p, err := queue.Open(context.Background(), got)
		if err != nil {
			t.Errorf("queue.Open(%q): %v", got, err)
			continue
		}
		p.Close()
		if got := queueURLWithCA(tc.in, ""); got != tc.in {
			t.Errorf("without a CA file %q became %q", tc.in, got)
		}
	}
}
