package kafkawire

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"time"
)

// API keys of the requests the producer sends.
const (
	keyProduce          int16 = 0
	keyMetadata         int16 = 3
	keySASLHandshake    int16 = 17
	keyAPIVersions      int16 = 18
	keySASLAuthenticate int16 = 36
	keyInitProducerID   int16 = 22
)

// supported is the range of versions this package speaks for each request,
// all of them non-flexible. Kafka 4.0 dropped Produce below v3 and Metadata
// below v4 (KIP-896), keeping what a Kafka 2.1 client sends (ApiVersions
// v2, Produce v7, Metadata v7, InitProducerId v1, SaslHandshake v1,
// SaslAuthenticate v1); these ranges are served by Kafka 2.1 to 4.x.
var supported = map[int16][2]int16{
	keyProduce:          {3, 8},
	keyMetadata:         {4, 8},
	keySASLHandshake:    {1, 1},
	keyAPIVersions:      {2, 2},
	keySASLAuthenticate: {0, 1},
	keyInitProducerID:   {0, 1},
}

var keyNames = map[int16]string{
	keyProduce: "Produce", keyMetadata: "Metadata", keySASLHandshake: "SaslHandshake",
	keyAPIVersions: "ApiVersions", keySASLAuthenticate: "SaslAuthenticate", keyInitProducerID: "InitProducerId",
}

// maxResponse bounds a response's size: a producer's responses are small,
// and a length beyond this is a peer that does not speak Kafka (a TLS
// listener answering plaintext, say).
const maxResponse = 16 << 20

// connError is a failure of the connection itself (dial, TLS, read, write,
// deadline): retriable, and a request written before it may or may not
// have been applied.
type connError struct {
	addr string
	err  error
}

func (e *connError) Error() string { return "broker " + e.addr + ": " + e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// conn is one connection to a broker, used by one goroutine at a time: a
// request is written and its response read before the next is sent.
type conn struct {
	addr     string
	nc       net.Conn
	clientID string
	corr     int32
	versions map[int16]int16 // the version chosen for each key
	stop     func() bool     // unregisters the close on the producer's end
}

// dial connects to addr, negotiates versions and authenticates. The
// connection is closed when ctx ends.
func dial(ctx context.Context, cfg *Config, addr string) (*conn, error) {
	d := net.Dialer{Timeout: cfg.DialTimeout}
	var nc net.Conn
	var err error
	if cfg.TLS != nil {
		tc := cfg.TLS.Clone()
		if tc.ServerName == "" {
			host, _, _ := net.SplitHostPort(addr)
			tc.ServerName = host
		}
		nc, err = (&tls.Dialer{NetDialer: &d, Config: tc}).DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, &connError{addr, err}
	}
	c := &conn{addr: addr, nc: nc, clientID: cfg.ClientID}
	c.stop = context.AfterFunc(ctx, func() { nc.Close() })
	deadline := time.Now().Add(cfg.DialTimeout)
	if err := c.negotiate(deadline, cfg.SASL != nil); err != nil {
		c.close()
		return nil, err
	}
	if cfg.SASL != nil {
		if err := c.authenticate(cfg.SASL, deadline); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

func (c *conn) close() {
	c.stop()
	c.nc.Close()
}

// negotiate asks the broker which versions it serves (ApiVersions v2, which
// brokers answer before authentication; one that does not serve v2 answers
// UNSUPPORTED_VERSION) and picks, for each request the producer sends, the
// highest version both sides speak.
func (c *conn) negotiate(deadline time.Time, withSASL bool) error {
	c.versions = map[int16]int16{keyAPIVersions: supported[keyAPIVersions][0]}
	resp, err := c.roundTrip(keyAPIVersions, nil, deadline)
	if err != nil {
		return err
	}
	r := reader{b: resp}
	code := r.int16()
	served := map[int16][2]int16{}
	for range r.arrayLen(6) { // api_key, min_version, max_version
		if r.err != nil {
			break
		}
		k, lo, hi := r.int16(), r.int16(), r.int16()
		served[k] = [2]int16{lo, hi}
	}
	if r.err != nil {
		return fmt.Errorf("broker %s: ApiVersions response: %w", c.addr, r.err)
	}
	// UNSUPPORTED_VERSION comes with the versions the broker does serve,
	// which say what it lacks.
	if err := errCode(code, nil); err != nil && code != 35 {
		return fmt.Errorf("broker %s: ApiVersions: %w", c.addr, err)
	}
	for _, k := range slices.Sorted(maps.Keys(supported)) {
		ours := supported[k]
		if (k == keySASLHandshake || k == keySASLAuthenticate) && !withSASL {
			continue // a listener without SASL need not offer it
		}
		theirs, ok := served[k]
		if !ok {
			return fmt.Errorf("broker %s does not serve %s, and this producer needs it (versions %d to %d): %w",
				c.addr, keyNames[k], ours[0], ours[1], ErrUnsupportedBroker)
		}
		v := min(ours[1], theirs[1])
		if v < ours[0] || v < theirs[0] {
			return fmt.Errorf("broker %s serves %s versions %d to %d, and this producer speaks %d to %d: %w",
				c.addr, keyNames[k], theirs[0], theirs[1], ours[0], ours[1], ErrUnsupportedBroker)
		}
		c.versions[k] = v
	}
	return nil
}

// roundTrip sends one request (header v1: key, version, correlation id,
// client id) and returns the body of its response (after the v0 header's
// correlation id), both by the deadline.
func (c *conn) roundTrip(key int16, body []byte, deadline time.Time) ([]byte, error) {
	c.corr++
	req := make([]byte, 4, 4+10+len(c.clientID)+len(body))
	req = appendInt16(req, key)
	req = appendInt16(req, c.versions[key])
	req = appendInt32(req, c.corr)
	req = appendString(req, c.clientID)
	req = append(req, body...)
	binary.BigEndian.PutUint32(req, uint32(len(req)-4))
	if err := c.nc.SetDeadline(deadline); err != nil {
		return nil, &connError{c.addr, err}
	}
	if _, err := c.nc.Write(req); err != nil {
		return nil, &connError{c.addr, fmt.Errorf("write %s: %w", keyNames[key], err)}
	}
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return nil, &connError{c.addr, fmt.Errorf("read %s response: %w", keyNames[key], err)}
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > maxResponse {
		return nil, &connError{c.addr, fmt.Errorf("%s response of %d bytes: is this a Kafka listener (TLS where plaintext is expected, or the reverse)?", keyNames[key], n)}
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(c.nc, resp); err != nil {
		return nil, &connError{c.addr, fmt.Errorf("read %s response: %w", keyNames[key], err)}
	}
	if got := int32(binary.BigEndian.Uint32(resp)); got != c.corr {
		return nil, &connError{c.addr, fmt.Errorf("%s response has correlation id %d, want %d", keyNames[key], got, c.corr)}
	}
	return resp[4:], nil
}
