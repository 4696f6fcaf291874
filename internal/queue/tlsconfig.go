package queue

import (
	"crypto/tls"
	"fmt"

	"github.com/vpngw/vpngw/internal/capool"
)

// tlsConfig verifies servers against the system's roots plus the PEM bundle
// at caFile, when one is named: read by capool.Load, as VPNGW_CA_FILE is (a
// private CA for one server must not make public certificates untrusted).
func tlsConfig(caFile, serverName string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile == "" {
		return c, nil
	}
	pool, err := capool.Load(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %v", err)
	}
	c.RootCAs = pool
	return c, nil
}
