package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// flaky acknowledges until it is told to fail, and records what it sent.
type flaky struct {
	sent   []string
	failAt int // fail the publish with this index (0: never)
}

func (f *flaky) Publish(_ context.Context, m outbox.Message) error {
	if f.failAt != 0 && len(f.sent)+1 == f.failAt {
		return errors.New("broker down")
	}
	f.sent = append(f.sent, m.ID)
	return nil
}

func TestDrainPublishesInOrderAndStopsAtTheFirstFailure(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	var want []string
	for i := range 250 {
		key := fmt.Sprintf("k%03d", i)
		id := "e" + key
		want = append(want, id)
		if _, _, err := s.Insert(ctx, store.Request{Key: key, Source: "s", EventID: key, Params: []byte("{}"), CreatedAt: now, UpdatedAt: now},
			[]store.Event{{ID: id, RequestKey: key, Type: "t", Body: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
	}
	pub := &flaky{failAt: 120}
	d, err := outbox.New(s, pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Drain(ctx)
	if err == nil || n != 119 {
		t.Fatalf("first drain: %d published, err %v; want 119 and the failure", n, err)
	}
	pub.failAt = 0
	n, err = d.Drain(ctx)
	if err != nil || n != 131 {
		t.Fatalf("second drain: %d, %v; want the remaining 131", n, err)
	}
	if fmt.Sprint(pub.sent) != fmt.Sprint(want) {
		t.Fatalf("published out of order or twice")
	}
	if left, _ := s.Unsent(ctx, 10); len(left) != 0 {
		t.Fatalf("%d events left unsent", len(left))
	}
}
