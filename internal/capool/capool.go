// Package capool reads the CA bundle an operator names for a private server
// (VPNGW_CA_FILE, a sink URL's ca_file), the one way for every connection:
// the system's roots plus the bundle's, so a private CA for one server does
// not make another's public certificate untrusted. It imports only the
// standard library.
package capool

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Load reads the PEM bundle at path, which must hold at least one
// certificate, and returns the system's roots plus the bundle's. Its errors
// do not repeat path: the caller says which setting named it.
func Load(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA bundle: %v", errors.Unwrap(err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("holds no PEM certificate: want the CA bundle (-----BEGIN CERTIFICATE-----)")
	}
	return pool, nil
}
