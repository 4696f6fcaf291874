package queue

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// tlsConfig verifies servers against the system's roots plus the PEM bundle
// at caFile, when one is named: the same rule as VPNGW_CA_FILE elsewhere (a
// private CA for one server must not make public certificates untrusted).
func tlsConfig(caFile, serverName string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: cannot read the CA bundle: %v", errors.Unwrap(err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("ca_file holds no PEM certificate: want the CA bundle (-----BEGIN CERTIFICATE-----)")
	}
	c.RootCAs = pool
	return c, nil
}
