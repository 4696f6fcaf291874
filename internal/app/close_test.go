package app

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
)

// closeCounted is a publisher that counts its Close calls.
type closeCounted struct{ closed *atomic.Int32 }

func (closeCounted) Publish(context.Context, outgoing.Event) error { return nil }
func (p closeCounted) Close() error                                { p.closed.Add(1); return nil }

var closedPublishers atomic.Int32

func init() {
	queue.Register("closecounted", func(context.Context, *url.URL) (queue.Publisher, error) {
		return closeCounted{&closedPublishers}, nil
	})
}

// openFiles counts this process's descriptors open on path or its WAL files.
func openFiles(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, path) {
			n++
		}
	}
	return n
}

// closeCountedConfig is a local configuration on a new SQLite file (its
// path returned too) whose sinks are queueURL's closecounted publishers.
func closeCountedConfig(t *testing.T, queueURL string) (string, Config) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "vpngw.db")
	env := map[string]string{"VPNGW_STORE_URL": "sqlite://" + db, "VPNGW_QUEUE_URL": queueURL}
	c, err := FromEnv(func(k string) string { return env[k] }, Local)
	if err != nil {
		t.Fatal(err)
	}
	return db, c
}

// New opens the store, then the broker, then builds the rest: when a later
// step fails, what it opened is closed again, not left to the garbage
// collector (a warm instance that retries New would pile up connections).
func TestNewClosesWhatItOpenedWhenALaterStepFails(t *testing.T) {
	db, c := closeCountedConfig(t, "closecounted://x")
	// A webhook secret too short to use fails the webhook's construction,
	// after the store and the broker are open.
	c.Webhook.Secret, c.Webhook.SecretSources = "short", []string{"*"}
	before := closedPublishers.Load()
	a, err := New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		a.Close()
		t.Fatal("New succeeded with a webhook secret of 5 bytes")
	}
	if n := openFiles(t, db); n != 0 {
		t.Errorf("New failed (%v) and left %d descriptors open on the store's file", err, n)
	}
	if got := closedPublishers.Load() - before; got != 1 {
		t.Errorf("New failed (%v) and closed the publisher it opened %d times, want 1", err, got)
	}
}

// Close closes every sink's publisher, not only the first one's: a warm
// instance that is closed and built again must not keep the others open.
func TestCloseClosesEverySink(t *testing.T) {
	_, c := closeCountedConfig(t, "closecounted://a,closecounted://b,closecounted://c")
	a, err := New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	before := closedPublishers.Load()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := closedPublishers.Load() - before; got != 3 {
		t.Errorf("Close closed %d of the 3 sinks' publishers", got)
	}
}
