package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
	"github.com/vpngw/vpngw/internal/testenv"
)

// TestNATSTypeNoStreamCapturesIsRefused: an operator's own stream
// (create=false) that captures only the gateway events, as a consumer of
// those alone would make it. io.vpngw.batch.completed has no stream: the
// refusal is for good (ErrRefused, so the outbox parks it and goes on) and
// names the subject; the gateway events still go through. On the embedded
// server and on the system's.
func TestNATSTypeNoStreamCapturesIsRefused(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		testNoStreamForOneType(t, startEmbedded(t).ClientURL())
	})
	t.Run("system", func(t *testing.T) {
		testNoStreamForOneType(t, natsServerURL(t, testenv.URL(t, testenv.NATSEnv)))
	})
}

func testNoStreamForOneType(t *testing.T, server string) {
	js := jetStreamFor(t, server)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Names of its own, so parallel runs on a shared server do not collide.
	tag := fmt.Sprintf("nostream%d", time.Now().UnixNano())
	prefix := tag + ".vpngw"
	stream := strings.ToUpper(tag)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{prefix + ".io.vpngw.gateway.>"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })

	p := open(t, server+"/"+prefix+"?stream="+stream+"&create=false")
	err := publish(t, p, queuetest.NewMessage("e1", "io.vpngw.batch.completed", 1))
	if !errors.Is(err, queue.ErrRefused) {
		t.Fatalf("publish of a type no stream captures: %v; want ErrRefused, so the outbox parks it instead of waiting for ever", err)
	}
	if !strings.Contains(err.Error(), prefix+".io.vpngw.batch.completed") {
		t.Errorf("error %q does not name the subject", err)
	}
	if err := publish(t, p, queuetest.NewMessage("e2", "io.vpngw.gateway.active", 2)); err != nil {
		t.Fatalf("gateway event after the refusal: %v", err)
	}
}
