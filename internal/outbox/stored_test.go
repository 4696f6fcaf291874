package outbox_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// storedFake is a StoredPublisher that records what each event came with.
type storedFake struct {
	mu  sync.Mutex
	got []handed
}

type handed struct {
	id, key   string
	replyRead bool
	replyURL  string // "" for none
}

func (f *storedFake) Publish(_ context.Context, e outgoing.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, handed{id: e.ID, key: e.Key})
	return nil
}

func (f *storedFake) PublishStored(_ context.Context, e store.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := handed{id: e.ID, key: e.Key, replyRead: e.ReplyRead}
	if e.Reply != nil {
		h.replyURL = e.Reply.URL
	}
	f.got = append(f.got, h)
	return nil
}

// A sink that takes the stored event gets, with each, the chat reply
// address the outbox read brought, read or not, and no Publish call; a
// later event of a request in the same read comes without it (posting the
// first may have changed it: a response_url's uses), for the sink to read
// afresh. So in the drain's one read for every sink, and in a sink's own.
func TestDrainHandsTheReplyAddressReadWithTheEvent(t *testing.T) {
	for _, alone := range []bool{false, true} {
		ctx := context.Background()
		s, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		now := time.Now()
		const url = "https://oapi.dingtalk.com/robot/sendBySession?session=x"
		if err := s.SaveChatReply(ctx, store.ChatReply{RequestKey: "chat", Platform: store.PlatformDingTalk, URL: url, ExpiresAt: now.Add(time.Hour), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Insert(ctx, store.Request{Key: "chat", Source: "s", EventID: "chat", Params: []byte("{}")},
			[]store.Event{{Event: outgoing.Event{ID: "e1", Type: "t"}}, {Event: outgoing.Event{ID: "e2", Type: "t"}}}); err != nil {
			t.Fatal(err)
		}
		insert(t, s, now, "plain", "e3", "t", []byte("{}"))
		chat := &storedFake{}
		sinks := []outbox.Sink{{Name: store.FirstSink, Pub: &sinkFake{}}, {Name: "chat", Pub: chat, Every: true}}
		if alone {
			sinks = []outbox.Sink{{Name: store.FirstSink, Pub: chat}}
		}
		d, err := outbox.NewSinks(s, sinks, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		want := []handed{{"e1", "chat", true, url}, {"e2", "chat", false, ""}, {"e3", "plain", true, ""}}
		if len(chat.got) != len(want) {
			t.Fatalf("alone %v: the sink got %+v, want %+v", alone, chat.got, want)
		}
		for i := range want {
			if chat.got[i] != want[i] {
				t.Errorf("alone %v: event %d handed as %+v, want %+v", alone, i, chat.got[i], want[i])
			}
		}
	}
}
