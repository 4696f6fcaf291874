package queue_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/testenv"
)

func TestOpenUnknownScheme(t *testing.T) {
	_, err := queue.Open(context.Background(), "sqs://queue.example/outcomes")
	if !errors.Is(err, queue.ErrUnknownScheme) {
		t.Fatalf("got %v, want ErrUnknownScheme", err)
	}
	for _, s := range []string{"nats", "amqp", "log", "https", "kafka", "mqtt"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not list the known scheme %s", err, s)
		}
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	for _, c := range []struct{ name, url, want string }{
		{"nats unknown parameter", "nats://127.0.0.1:4222?strem=X", `unknown query parameter "strem"`},
		{"nats repeated parameter", "nats://127.0.0.1:4222?stream=A&stream=B", "given 2 times"},
		{"nats bad duplicates", "nats://127.0.0.1:4222?duplicates=2", "duplicates"},
		{"nats bad create", "nats://127.0.0.1:4222?create=maybe", "create"},
		{"nats bad replicas", "nats://127.0.0.1:4222?replicas=7", "replicas"},
		{"nats wildcard prefix", "nats://127.0.0.1:4222/vpngw.*", "subject prefix"},
		{"nats empty prefix token", "nats://127.0.0.1:4222/a..b", "subject prefix"},
		{"nats dotted stream", "nats://127.0.0.1:4222?stream=A.B", "stream name"},
		{"nats no host", "nats:///vpngw", "needs a host"},
		{"amqp unknown parameter", "amqp://127.0.0.1/?exchnge=x", `unknown query parameter "exchnge"`},
		{"amqp bad exchange type", "amqp://127.0.0.1/?exchange_type=rabbit", "exchange_type"},
		{"amqp bad heartbeat", "amqp://127.0.0.1/?heartbeat=x", "heartbeat"},
		{"amqp bad mandatory", "amqp://127.0.0.1/?mandatory=sometimes", "mandatory"},
		{"amqp no host", "amqp:///vhost", "needs a host"},
		{"log elsewhere", "log:/var/log/x", "stdout or stderr"},
		{"kafka no topic", "kafka://b:9092", "topic"},
		{"kafka nested topic", "kafka://b:9092/a/b", "topic"},
		{"kafka unknown sasl", "kafka://b:9092/t?sasl=gssapi", "sasl"},
		{"kafka user without sasl", "kafka://u:pw@b:9092/t", "sasl"},
		{"kafka sasl without user", "kafka://b:9092/t?sasl=plain", "user"},
		{"kafka ca file without tls", "kafka://b:9092/t?ca_file=/x", "tls=true"},
		{"kafka unknown parameter", "kafka://b:9092/t?acks=1", "unknown query parameter"},
		{"mqtt plus wildcard", "mqtt://h:1883/a/+/b", "wildcards"},
		{"mqtt hash wildcard", "mqtt://h:1883/a/%23", "wildcards"},
		{"mqtt ca file without mqtts", "mqtt://h:1883/a?ca_file=/x", "mqtts"},
		{"mqtt unknown parameter", "mqtt://h:1883/a?qos=0", "unknown query parameter"},
		{"mqtt bad connect_timeout", "mqtt://h:1883/a?connect_timeout=0s", `query parameter connect_timeout="0s" is not a positive duration such as 5s`},
		{"nats bad connect_timeout", "nats://127.0.0.1:4222?connect_timeout=5", `query parameter connect_timeout="5" is not a positive duration such as 5s`},
		{"nats negative duplicates", "nats://127.0.0.1:4222?duplicates=-2h", `query parameter duplicates="-2h" is not a positive duration such as 2h`},
		{"https bad timeout", "https://example.com/hook?timeout=soon", `query parameter timeout="soon" is not a positive duration such as 10s`},
		{"kafka bad timeout", "kafka://b:9092/t?timeout=-1s", `query parameter timeout="-1s" is not a positive duration such as 10s`},
		{"kafka timeout beyond the wire's", "kafka://b:9092/t?timeout=600h", `query parameter timeout="600h" is more than 15m0s, the longest a Kafka sink waits for a broker`},
		{"mqtts ca file missing", "mqtts://h:8883/a?ca_file=/nonexistent/ca.pem", "ca_file: cannot read the CA bundle: no such file or directory"},
		{"kafka ca file not PEM", "kafka://b:9092/t?tls=true&ca_file=/dev/null", "ca_file: holds no PEM certificate: want the CA bundle"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := queue.Open(context.Background(), c.url)
			if err == nil {
				p.Close()
				t.Fatalf("Open(%s) succeeded", c.url)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// A positive duration is taken wherever a sink URL has one (NATS duplicates
// and connect_timeout, MQTT connect_timeout, the HTTP sink's timeout); the
// refusals are in TestOpenRejectsBadURLs.
func TestOpenTakesPositiveDurations(t *testing.T) {
	for _, u := range []string{
		"nats://127.0.0.1:4222?connect_timeout=250ms&duplicates=2h",
		"mqtt://h:1883/a?connect_timeout=1m30s",
		"https://example.com/hook?timeout=10s",
		"kafka://b:9092/t?timeout=2s",
	} {
		p, err := queue.Open(context.Background(), u, queue.WithSinkSecret("sink-secret-for-the-queue-test"))
		if err != nil {
			t.Errorf("Open(%s): %v", u, err)
			continue
		}
		p.Close()
	}
}

// TestErrorsNeverContainPassword walks every way Open and Publish can fail
// before reaching a broker, plus a refused connection, with a password that
// also appears in escaped form.
func TestErrorsNeverContainPassword(t *testing.T) {
	const pw = "s3cr3t/P@ss"
	esc := url.QueryEscape(pw)
	closed := closedPort(t)
	for _, c := range []struct{ name, url string }{
		{"unparsable port", "amqp://user:" + pw + "@host:notaport/"},
		{"unescaped at-sign", "amqp://user:s3cr3tP@ss@host:notaport/"},
		{"nats unparsable", "nats://user:" + pw + "@host:bad"},
		{"unknown scheme", "kafka://user:" + esc + "@host:9092"},
		{"nats bad parameter", "nats://user:" + esc + "@127.0.0.1:4222?bogus=1"},
		{"amqp bad parameter", "amqp://user:" + esc + "@127.0.0.1:5672/?bogus=1"},
		{"nats refused", "nats://user:" + esc + "@" + closed},
		{"nats token refused", "nats://" + esc + "@" + closed},
		{"amqp refused", "amqp://user:" + esc + "@" + closed + "/"},
		{"amqps refused", "amqps://user:" + esc + "@" + closed + "/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := openAndPublish(c.url, 3*time.Second)
			if err == nil {
				t.Fatal("no error")
			}
			for _, secret := range []string{pw, esc, "s3cr3tP@ss", "s3cr3t"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error reveals the password as %q: %v", secret, err)
				}
			}
		})
	}
}

// TestWrongPasswordNotInError asks a real broker to refuse the credentials.
func TestWrongPasswordNotInError(t *testing.T) {
	raw := testenv.URL(t, testenv.AMQPEnv)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("vpngw-nobody", "Wr0ngPassw0rd")
	// RabbitMQ answers a failed login only after about 3 s.
	err = openAndPublish(u.String(), 10*time.Second)
	if err == nil {
		t.Fatal("publish with a wrong password succeeded")
	}
	if !strings.Contains(err.Error(), "403") {
		t.Errorf("want the broker's refusal (403), got %v", err)
	}
	if strings.Contains(err.Error(), "Wr0ngPassw0rd") {
		t.Fatalf("error reveals the password: %v", err)
	}
	t.Logf("refused as: %v", err)
}

func openAndPublish(raw string, timeout time.Duration) error {
	p, err := queue.Open(context.Background(), raw)
	if err != nil {
		return err
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Publish(ctx, queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1))
}

// registerRuns makes TestRegister's scheme new on every run (-count): the
// registry is the process's, and a scheme can be registered once.
var registerRuns atomic.Int64

func TestRegister(t *testing.T) {
	var got []outgoing.Event
	scheme := fmt.Sprintf("memtest%d", registerRuns.Add(1))
	queue.Register(strings.ToUpper(scheme[:1])+scheme[1:], func(_ context.Context, u *url.URL) (queue.Publisher, error) {
		if u.Host != "here" {
			return nil, errors.New("unexpected host " + u.Host)
		}
		return recorder{&got}, nil
	})
	if !slices.Contains(queue.Schemes(), scheme) {
		t.Errorf("Schemes() = %v, want %s listed", queue.Schemes(), scheme)
	}
	p, err := queue.Open(context.Background(), strings.ToUpper(scheme)+"://here")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	m := queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1)
	if err := p.Publish(context.Background(), m); err != nil || len(got) != 1 || got[0].ID != "id-1" {
		t.Fatalf("publish through the registered scheme: err %v, got %v", err, got)
	}
	if _, err := queue.Open(context.Background(), scheme+"://elsewhere"); err == nil || !strings.Contains(err.Error(), "unexpected host elsewhere") {
		t.Errorf("opener error not passed on: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a scheme twice did not panic")
		}
	}()
	queue.Register(scheme, func(context.Context, *url.URL) (queue.Publisher, error) { return nil, nil })
}

type recorder struct{ got *[]outgoing.Event }

func (r recorder) Publish(_ context.Context, m outgoing.Event) error {
	*r.got = append(*r.got, m)
	return nil
}
func (recorder) Close() error { return nil }

func TestMessageValidate(t *testing.T) {
	body := []byte(`{}`)
	for _, c := range []struct {
		name string
		m    outgoing.Event
		ok   bool
	}{
		{"vpngw type", outgoing.Event{ID: "a", Type: "io.vpngw.gateway.active", Body: body}, true},
		{"colons and dashes", outgoing.Event{ID: "a", Type: "aliyun:Vpc:Gateway-Created", Body: body}, true},
		{"single token", outgoing.Event{ID: "a", Type: "created", Body: body}, true},
		{"empty id", outgoing.Event{Type: "x", Body: body}, false},
		{"empty body", outgoing.Event{ID: "a", Type: "x"}, false},
		{"leading dot", outgoing.Event{ID: "a", Type: ".x", Body: body}, false},
		{"tab", outgoing.Event{ID: "a", Type: "x\ty", Body: body}, false},
		{"too long", outgoing.Event{ID: "a", Type: strings.Repeat("x", 256), Body: body}, false},
	} {
		err := queue.Validate(c.m)
		if (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, queue.ErrInvalidMessage) {
			t.Errorf("%s: error %v does not wrap ErrInvalidMessage", c.name, err)
		}
	}
}

func TestLogPublisher(t *testing.T) {
	var buf bytes.Buffer
	p, err := queue.NewLogPublisher(&buf)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	event := outgoing.Event{ID: "id-1", Type: "io.vpngw.gateway.active", Body: []byte("{\n  \"id\": \"id-1\",\n  \"specversion\": \"1.0\"\n}")}
	notJSON := outgoing.Event{ID: "id-2", Type: "io.vpngw.gateway.failed", Body: []byte("plain text")}
	for _, m := range []outgoing.Event{event, notJSON} {
		if err := p.Publish(ctx, m); err != nil {
			t.Fatalf("Publish %s: %v", m.ID, err)
		}
	}
	sc := bufio.NewScanner(&buf)
	var lines []map[string]any
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want one per message", len(lines))
	}
	if lines[0]["id"] != "id-1" || lines[0]["type"] != event.Type || lines[0]["event"].(map[string]any)["specversion"] != "1.0" {
		t.Errorf("first line %v", lines[0])
	}
	if lines[1]["body"] != "plain text" || lines[1]["event"] != nil {
		t.Errorf("second line %v", lines[1])
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Publish(cancelled, event); !errors.Is(err, context.Canceled) {
		t.Errorf("publish with a cancelled context: %v", err)
	}
	if err := p.Publish(ctx, outgoing.Event{ID: "x"}); !errors.Is(err, queue.ErrInvalidMessage) {
		t.Errorf("invalid message: %v", err)
	}
	p.Close()
	if err := p.Publish(ctx, event); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("publish after Close: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("failed publishes wrote %q", buf.String())
	}
	if err := p.Publish(ctx, event); err == nil {
		t.Error("no error")
	}
}

func TestLogPublisherWriteError(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // writes now fail
	p, err := queue.NewLogPublisher(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), queuetest.NewMessage("id-1", "io.vpngw.gateway.active", 1)); err == nil {
		t.Fatal("a failed write must be a failed publish")
	}
}

func TestOpenLog(t *testing.T) {
	for _, raw := range []string{"log:", "stdout:", "stderr:", "log:stderr", "LOG:"} {
		p, err := queue.Open(context.Background(), raw)
		if err != nil {
			t.Errorf("Open(%q): %v", raw, err)
			continue
		}
		if _, ok := p.(*queue.LogPublisher); !ok {
			t.Errorf("Open(%q) gave %T", raw, p)
		}
		p.Close()
	}
}
