package queue_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/testenv"
)

func TestMQTTContract(t *testing.T) {
	queuetest.Run(t, queuetest.MQTT(t, testenv.URL(t, testenv.MQTTEnv)))
}

// ownMosquitto runs a Mosquitto of the test's own (the machine's mosquitto
// binary, on a free port, persisting to a temporary directory, extra lines
// added to its configuration) and returns its address and how to stop and
// start it again. The system broker is left alone.
func ownMosquitto(t *testing.T, extra string) (addr string, stop, start func(t *testing.T)) {
	t.Helper()
	testenv.URL(t, testenv.MQTTEnv) // CI promises Mosquitto
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		t.Fatalf("the mosquitto binary is not on PATH: %v", err)
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	body := "listener " + port + " 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location " + dir + "/\n" + extra
	if os.Geteuid() == 0 {
		body += "user root\n"
	}
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var cmd *exec.Cmd
	start = func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		if cmd != nil {
			return
		}
		cmd = exec.Command(bin, "-c", conf)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start mosquitto: %v", err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("mosquitto on %s not answering 30 s after start: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	stop = func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		if cmd == nil {
			return
		}
		// SIGTERM: Mosquitto saves its sessions and queued messages first.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		cmd = nil
	}
	start(t)
	t.Cleanup(func() { stop(t) })
	return addr, stop, start
}

// TestMQTTRestart stops a Mosquitto of the test's own mid-stream and starts
// it again.
func TestMQTTRestart(t *testing.T) {
	addr, stop, start := ownMosquitto(t, "")
	b := queuetest.MQTT(t, "mqtt://"+addr)
	b.Stop, b.Start = stop, start
	queuetest.RunRestart(t, b, queuetest.RestartOptions{})
}

// TestMQTTContractWithPacketLimit runs the suite against a Mosquitto that
// announces a Maximum Packet Size, so that an event over it is refused for
// good (and parked by the drain) while the next goes through.
func TestMQTTContractWithPacketLimit(t *testing.T) {
	const limit = 64 << 10
	addr, _, _ := ownMosquitto(t, fmt.Sprintf("max_packet_size %d\n", limit))
	b := queuetest.MQTT(t, "mqtt://"+addr)
	b.Refused = func(run string) (outgoing.Event, error) {
		m := queuetest.NewMessage(run+"-big", "io.vpngw.gateway.failed", 2)
		m.Body = []byte(`{"specversion":"1.0","id":"` + m.ID + `","source":"/vpngw","type":"` + m.Type +
			`","datacontenttype":"application/json","data":{"pad":"` + strings.Repeat("x", limit) + `"}}`)
		return m, queue.ErrTooLarge
	}
	queuetest.Run(t, b)
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
