package chatreply_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/chatreply"
	"github.com/vpngw/vpngw/internal/chatsim"
	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	_ "github.com/vpngw/vpngw/internal/store/sqlstore/sqlite"
)

// countedReplies is replies, counting the reads of an address.
type countedReplies struct {
	*replies
	reads atomic.Int64
}

func (c *countedReplies) ChatReply(ctx context.Context, key string) (store.ChatReply, bool, error) {
	c.reads.Add(1)
	return c.replies.ChatReply(ctx, key)
}

// An event handed over with the reply address the outbox read brought is
// posted there without a read of the address; one whose read found none
// is not addressed, without a read either; one handed over without it is
// read for, as Publish does.
func TestPublishStoredUsesTheAddressReadWithTheEvent(t *testing.T) {
	slack := chatsim.NewSlack(nil)
	defer slack.Close()
	addr := store.ChatReply{RequestKey: "k", Platform: store.PlatformSlack, URL: slack.ResponseURL(), ExpiresAt: time.Now().Add(30 * time.Minute), Channel: "C1", CreatedAt: time.Now()}
	st := &countedReplies{replies: &replies{m: map[string]store.ChatReply{"k": addr}}}
	p := chatreply.New(st, chatreply.Config{Allow: chatreply.NewAllow([]string{slack.URL})})
	ctx := context.Background()
	read := addr
	if err := p.PublishStored(ctx, store.Event{RequestKey: "k", Event: active(t, "k", "vpn-1"), Reply: &read, ReplyRead: true}); err != nil {
		t.Fatal(err)
	}
	if n := st.reads.Load(); n != 0 || len(slack.Posts()) != 1 {
		t.Fatalf("%d reads of the address and %d posts, want none and 1", n, len(slack.Posts()))
	}
	if got, _, _ := st.replies.ChatReply(ctx, "k"); got.Uses != 1 {
		t.Errorf("uses after the post: %d, want 1", got.Uses)
	}
	if err := p.PublishStored(ctx, store.Event{RequestKey: "n", Event: active(t, "n", "vpn-2"), ReplyRead: true}); !errors.Is(err, outbox.ErrNotAddressed) {
		t.Errorf("an event whose read found no address: %v, want not addressed", err)
	}
	if n := st.reads.Load(); n != 0 {
		t.Errorf("%d reads of an address, want none", n)
	}
	if err := p.PublishStored(ctx, store.Event{RequestKey: "k", Event: active(t, "k", "vpn-3")}); err != nil {
		t.Fatal(err)
	}
	if n := st.reads.Load(); n != 1 || len(slack.Posts()) != 2 {
		t.Errorf("%d reads and %d posts after an event handed over without its address, want 1 and 2", n, len(slack.Posts()))
	}
}

// Seven outcomes of one chat request drained at once, through the store's
// outbox read that brings their address: a response_url takes five posts;
// the sixth goes through chat.postMessage into the channel, and the one
// after threads under it, as when each outcome read its address.
func TestDrainedOutcomesCountTheResponseURLsUses(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	slack := chatsim.NewSlack(nil)
	defer slack.Close()
	if err := s.SaveChatReply(ctx, store.ChatReply{RequestKey: "k", Platform: store.PlatformSlack, URL: slack.ResponseURL(),
		ExpiresAt: time.Now().Add(30 * time.Minute), Channel: "C1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var evs []store.Event
	for i := range 7 {
		e := active(t, "k", fmt.Sprintf("vpn-%d", i))
		e.ID = fmt.Sprintf("ev-%d", i)
		evs = append(evs, store.Event{Event: e})
	}
	if _, _, err := s.Insert(ctx, store.Request{Key: "k", Source: "s", EventID: "k", Params: []byte("{}")}, evs); err != nil {
		t.Fatal(err)
	}
	p := chatreply.New(s, chatreply.Config{Allow: chatreply.NewAllow([]string{slack.URL}), SlackReply: chatreply.SlackInChannel,
		SlackBotToken: slack.Token, SlackAPIURL: slack.APIURL()})
	d, err := outbox.NewSinks(s, []outbox.Sink{{Name: store.FirstSink, Pub: outbox.PublisherFunc(func(context.Context, outgoing.Event) error { return nil })},
		{Name: chatreply.SinkName, Pub: p, Every: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	posts := slack.Posts()
	if len(posts) != 7 {
		t.Fatalf("%d posts, want 7: %+v", len(posts), posts)
	}
	for i, p := range posts[:5] {
		if p.Path == "/api/chat.postMessage" {
			t.Errorf("post %d went through chat.postMessage, want the response_url", i+1)
		}
	}
	if posts[5].Path != "/api/chat.postMessage" || posts[5].ThreadTS != "" {
		t.Errorf("post 6: %+v, want chat.postMessage into C1", posts[5])
	}
	if posts[6].Path != "/api/chat.postMessage" || posts[6].ThreadTS == "" {
		t.Errorf("post 7: %+v, want threaded under post 6", posts[6])
	}
}
