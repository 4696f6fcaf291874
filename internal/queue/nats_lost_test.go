package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
	"github.com/vpngw/vpngw/internal/queue/queuetest"
)

// A publish whose PubAck can no longer come, because the connection
// dropped after the message was sent, stops waiting then and says so,
// rather than waiting until its context ends.
func TestNATSPublishStopsWaitingWhenTheConnectionDrops(t *testing.T) {
	srv, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(srv.Shutdown)

	// Something that takes the message and never answers, so that the
	// publish waits for its PubAck.
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	got := make(chan struct{}, 1)
	if _, err := nc.Subscribe("lostack.>", func(*nats.Msg) {
		select {
		case got <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}

	p, err := queue.Open(context.Background(), srv.ClientURL()+"/lostack?create=false")
	if err != nil {
		t.Fatalf("queue.Open: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- p.Publish(ctx, queuetest.NewMessage("lost-"+queuetest.NewRunID(), "io.vpngw.gateway.accepted", 0))
	}()
	select {
	case <-got:
	case err := <-done:
		t.Fatalf("Publish returned before the message arrived: %v", err)
	case <-ctx.Done():
		t.Fatal("the message never arrived")
	}
	srv.Shutdown()

	err = <-done
	if ctx.Err() != nil {
		t.Fatalf("Publish waited until its context ended: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "connection lost before the PubAck arrived") {
		t.Fatalf("Publish: %v, want the connection's loss named", err)
	}
}
