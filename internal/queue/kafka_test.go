package queue_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/testenv"
)

func TestKafkaContract(t *testing.T) { queuetest.Run(t, queuetest.Kafka(t)) }

// TestKafkaRecordAsConsumerReadsIt checks the bytes a kgo consumer reads:
// binary-mode headers, the data alone as the value, and the request's key.
func TestKafkaRecordAsConsumerReadsIt(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "outcomes"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := queuetest.ConsumeKafkaRecords(t, c.ListenAddrs(), "outcomes")
	p, err := queue.Open(context.Background(), "kafka://"+strings.Join(c.ListenAddrs(), ",")+"/outcomes")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var msgs []outgoing.Event
	for i, typ := range []string{"io.vpngw.gateway.accepted", "io.vpngw.gateway.active"} {
		m := queuetest.NewMessage("ev-"+typ, typ, i)
		m.Key = "request-1"
		msgs = append(msgs, m)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := p.Publish(ctx, m); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		cancel()
	}
	var parts []int32
	for i, m := range msgs {
		var r queuetest.KafkaRecord
		select {
		case r = <-in:
		case <-time.After(15 * time.Second):
			t.Fatalf("record %d did not arrive", i)
		}
		parts = append(parts, r.Partition)
		if string(r.Key) != "request-1" {
			t.Errorf("key %q, want the request's identity request-1", r.Key)
		}
		if want := `{"seq":` + string(rune('0'+i)) + `}`; string(r.Value) != want {
			t.Errorf("value %s, want the data alone %s", r.Value, want)
		}
		for k, want := range map[string]string{
			"ce_id": m.ID, "ce_type": m.Type, "ce_source": "/vpngw", "ce_specversion": "1.0", "content-type": "application/json",
		} {
			if r.Headers[k] != want {
				t.Errorf("header %s = %q, want %q", k, r.Headers[k], want)
			}
		}
		if _, ok := r.Headers["ce_datacontenttype"]; ok {
			t.Errorf("datacontenttype sent as ce_datacontenttype, want it in content-type only")
		}
	}
	if parts[0] != parts[1] {
		t.Errorf("a request's events went to partitions %v, want one", parts)
	}
}

func TestKafkaErrorsHoldNoPassword(t *testing.T) {
	p, err := queue.Open(context.Background(), "kafka://alice:pa55-w0rd@127.0.0.1:1/t?sasl=scram-sha-512&timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err = p.Publish(ctx, queuetest.NewMessage("ev", "io.vpngw.gateway.active", 1))
	if err == nil || errors.Is(err, queue.ErrRefused) {
		t.Fatalf("no broker: got %v, want a transient error", err)
	}
	if strings.Contains(err.Error(), "pa55-w0rd") {
		t.Fatalf("error holds the password: %v", err)
	}
	// It names what failed, not only that the time ran out.
	if !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("error %q does not say the broker at 127.0.0.1:1 refused the connection", err)
	}
}

// A SASL_SSL listener, as ApsaraMQ for Kafka's on 9093: TLS verified
// against ca_file, then SCRAM; the record reaches the topic.
func TestKafkaTLSWithCAFileAndSCRAM(t *testing.T) {
	caPEM, serverCert := selfSignedFor(t, "127.0.0.1")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "outcomes"),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "alice", "pa55-w0rd"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := queue.Open(context.Background(), "kafka://alice:pa55-w0rd@"+c.ListenAddrs()[0]+"/outcomes?tls=true&sasl=scram-sha-512&ca_file="+caFile)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.Publish(ctx, queuetest.NewMessage("ev-tls", "io.vpngw.gateway.active", 1)); err != nil {
		t.Fatalf("Publish over TLS with SCRAM: %v", err)
	}
	// Without the CA the broker's certificate is not trusted: no record,
	// and the error says why.
	untrusted, err := queue.Open(context.Background(), "kafka://alice:pa55-w0rd@"+c.ListenAddrs()[0]+"/outcomes?tls=true&sasl=scram-sha-512")
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	err = untrusted.Publish(short, queuetest.NewMessage("ev-untrusted", "io.vpngw.gateway.active", 1))
	if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "pa55-w0rd") {
		t.Fatalf("Publish without the CA: got %v, want a certificate error without the password", err)
	}
}

// selfSignedFor returns a self-signed CA certificate for ip, as PEM, and
// the same certificate with its key for a server.
func selfSignedFor(t *testing.T, ip string) ([]byte, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kfake test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP(ip)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Close while a Publish waits for a broker that is not there: the Publish
// ends with ErrClosed, not a timeout.
func TestKafkaCloseEndsAWaitingPublish(t *testing.T) {
	addr := strings.TrimPrefix(testenv.UnreachableEndpoints(t)["connection refused"], "http://")
	p, err := queue.Open(context.Background(), "kafka://"+addr+"/t")
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res <- p.Publish(ctx, queuetest.NewMessage("ev-close", "io.vpngw.gateway.active", 1))
	}()
	time.Sleep(300 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		if !errors.Is(err, queue.ErrClosed) {
			t.Fatalf("Publish waiting at Close: got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish still waiting 5 s after Close")
	}
}
