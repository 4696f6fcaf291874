package queue

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/redact"
)

// DefaultMQTTPrefix is the topic prefix when an mqtt:// URL names none.
const DefaultMQTTPrefix = "vpngw"

func init() {
	Register("mqtt", openMQTT)
	Register("mqtts", openMQTT)
}

// mqttConfig is what an mqtt:// URL says.
type mqttConfig struct {
	addr           string // host:port
	tls            *tls.Config
	user, password string
	prefix         string
	clientID       string
	connectTimeout time.Duration
	shown          string
}

// MQTTPublisher publishes each event with QoS 1 on <prefix>/<event type>,
// in the CloudEvents MQTT binding's MQTT 5 binary mode: the attributes as
// user properties (no prefix), the data's type as Content Type, the data as
// the payload. Publish returns once the broker's PUBACK arrived. It connects
// on the first Publish and again on a later one after losing the connection.
type MQTTPublisher struct {
	cfg mqttConfig
	sem semaphore
	// Guarded by sem.
	cli     *paho.Client
	maxSize uint32 // the server's Maximum Packet Size, 0 for none
	closed  bool
}

var _ Publisher = (*MQTTPublisher)(nil)

func openMQTT(_ context.Context, u *url.URL) (Publisher, error) {
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("MQTT URL needs a host, as in mqtt://127.0.0.1:1883/vpngw")
	}
	scheme := strings.ToLower(u.Scheme)
	c := mqttConfig{prefix: DefaultMQTTPrefix, connectTimeout: defaultConnectTimeout}
	port := "1883"
	if scheme == "mqtts" {
		port = "8883"
	}
	c.addr = u.Host
	if u.Port() == "" {
		c.addr = net.JoinHostPort(u.Hostname(), port)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		c.prefix = p
	}
	if u.Fragment != "" || strings.ContainsAny(c.prefix, "+#") || strings.Contains(c.prefix, "//") {
		return nil, fmt.Errorf("topic prefix %q must not hold wildcards (+, #) or empty levels", c.prefix)
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.password, _ = u.User.Password()
	}
	q := u.Query()
	if err := queryParams(q, "client_id", "connect_timeout", "ca_file"); err != nil {
		return nil, err
	}
	var err error
	if c.connectTimeout, err = durationParam(q, "connect_timeout", c.connectTimeout, "5s"); err != nil {
		return nil, err
	}
	c.clientID = q.Get("client_id")
	if c.clientID == "" {
		// One id per publisher: two instances with one id would throw each
		// other off the broker.
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		c.clientID = "vpngw-" + hex.EncodeToString(b)
	}
	switch {
	case scheme == "mqtts":
		tc, err := tlsConfig(q.Get("ca_file"), u.Hostname())
		if err != nil {
			return nil, err
		}
		c.tls = tc
	case q.Get("ca_file") != "":
		return nil, errors.New("query parameter ca_file needs mqtts:// (MQTT over TLS)")
	}
	c.shown = scheme + "://" + c.addr + "/" + c.prefix
	return &MQTTPublisher{cfg: c, sem: newSemaphore()}, nil
}

// Topic returns the topic an event of type eventType is published on.
func (p *MQTTPublisher) Topic(eventType string) string { return p.cfg.prefix + "/" + eventType }

// PUBACK reason codes that refuse the message itself (MQTT 5.0, 3.4.2.1).
const (
	mqttTopicNameInvalid    = 0x90
	mqttPacketTooLarge      = 0x95
	mqttPayloadFormatInvald = 0x99
)

// Publish sends m with QoS 1 and waits for the PUBACK.
func (p *MQTTPublisher) Publish(ctx context.Context, m outgoing.Event) error {
	if err := checkPublish(ctx, m); err != nil {
		return err
	}
	b, err := toBinary(m)
	if err != nil {
		return err
	}
	cli, maxSize, err := p.session(ctx)
	if err != nil {
		return redact.Error(fmt.Errorf("publish %s to %s: %w", m.ID, p.cfg.shown, err), redact.Forms(p.cfg.password)...)
	}
	if maxSize > 0 && uint64(len(b.data)) >= uint64(maxSize) {
		return fmt.Errorf("publish %s to %s: %w: the event is %d bytes (%d of data in the packet), the server's Maximum Packet Size is %d", m.ID, p.cfg.shown, ErrTooLarge, len(m.Body), len(b.data), maxSize)
	}
	props := &paho.PublishProperties{ContentType: b.contentType}
	for _, a := range b.attrs {
		props.User.Add(a.name, a.value)
	}
	pr, err := cli.Publish(ctx, &paho.Publish{QoS: 1, Topic: p.Topic(m.Type), Payload: b.data, Properties: props})
	if err == nil {
		return nil
	}
	if pr != nil {
		switch pr.ReasonCode {
		case mqttPacketTooLarge:
			err = fmt.Errorf("%w: the event is %d bytes (%d of data in the packet): %w", ErrTooLarge, len(m.Body), len(b.data), err)
		case mqttTopicNameInvalid, mqttPayloadFormatInvald:
			err = fmt.Errorf("%w: the broker refuses it: %w", ErrRejected, err)
		}
	} else if ctx.Err() == nil {
		// No PUBACK, and not for want of time: the connection is gone or
		// broken; the next Publish dials again.
		p.drop(cli)
	}
	return redact.Error(fmt.Errorf("publish %s to MQTT topic %s at %s: %w", m.ID, p.Topic(m.Type), p.cfg.addr, err), redact.Forms(p.cfg.password)...)
}

// session returns a connected client, dialling when there is none or the
// last one's connection ended.
func (p *MQTTPublisher) session(ctx context.Context) (*paho.Client, uint32, error) {
	if err := p.sem.lock(ctx); err != nil {
		return nil, 0, err
	}
	defer p.sem.unlock()
	if p.closed {
		return nil, 0, ErrClosed
	}
	if p.cli != nil {
		select {
		case <-p.cli.Done():
			p.cli = nil
		default:
			return p.cli, p.maxSize, nil
		}
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.connectTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	if p.cfg.tls != nil {
		conn, err = (&tls.Dialer{Config: p.cfg.tls}).DialContext(cctx, "tcp", p.cfg.addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(cctx, "tcp", p.cfg.addr)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("connect: %w", err)
	}
	cli := paho.NewClient(paho.ClientConfig{ClientID: p.cfg.clientID, Conn: packets.NewThreadSafeConn(conn)})
	cp := &paho.Connect{ClientID: p.cfg.clientID, CleanStart: true, KeepAlive: 30}
	if p.cfg.user != "" {
		cp.Username, cp.UsernameFlag = p.cfg.user, true
		cp.Password, cp.PasswordFlag = []byte(p.cfg.password), p.cfg.password != ""
	}
	ca, err := cli.Connect(cctx, cp)
	if err != nil {
		conn.Close()
		if ca != nil && ca.ReasonCode >= 0x80 {
			return nil, 0, fmt.Errorf("the broker refused the connection (reason code 0x%02x): %w", ca.ReasonCode, err)
		}
		return nil, 0, fmt.Errorf("MQTT 5 connect: %w", err)
	}
	p.cli, p.maxSize = cli, 0
	if ca.Properties != nil && ca.Properties.MaximumPacketSize != nil {
		p.maxSize = *ca.Properties.MaximumPacketSize
	}
	return cli, p.maxSize, nil
}

// drop forgets cli, if it is still the current client, and ends its
// connection.
func (p *MQTTPublisher) drop(cli *paho.Client) {
	p.sem <- struct{}{}
	defer p.sem.unlock()
	if p.cli == cli {
		p.cli = nil
	}
	_ = cli.Disconnect(&paho.Disconnect{ReasonCode: 0})
}

// Close disconnects. Publish afterwards returns ErrClosed.
func (p *MQTTPublisher) Close() error {
	return p.sem.closeOnce(&p.closed, func() error {
		if p.cli != nil {
			_ = p.cli.Disconnect(&paho.Disconnect{ReasonCode: 0})
			p.cli = nil
		}
		return nil
	})
}
