package queue_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
)

func TestMQTTContract(t *testing.T) {
	queuetest.Run(t, queuetest.MQTT(t, queuetest.URLFromEnv(t, "VPNGW_TEST_MQTT_URL")))
}

func TestMQTTOpenRefusals(t *testing.T) {
	wantOpenErrors(t, []openCase{
		{"mqtt://h:1883/a/+/b", "wildcards"},
		{"mqtt://h:1883/a/%23", "wildcards"},
		{"mqtt://h:1883/a?ca_file=/x", "mqtts"},
		{"mqtt://h:1883/a?qos=0", "unknown query parameter"},
	})
}

func TestMQTTErrorsHoldNoPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := queue.Open(context.Background(), "mqtt://alice:pa55-w0rd@"+addr+"/x")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.Publish(context.Background(), queuetest.NewMessage("ev", "io.vpngw.gateway.active", 1))
	if err == nil || strings.Contains(err.Error(), "pa55-w0rd") {
		t.Fatalf("got %v, want an error without the password", err)
	}
}
