package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
)

// A chat request's reply address is kept as the platform gave it, a retry
// of the command keeps the first, and what a post used is noted, on every
// backend.
func TestChatReplies(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if _, ok, err := s.ChatReply(ctx, "k1"); ok || err != nil {
			t.Fatalf("ChatReply of a request without one = %v, %v", ok, err)
		}
		at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		want := store.ChatReply{RequestKey: "k1", Platform: store.PlatformSlack, URL: "https://hooks.slack.com/commands/T1/2/abc",
			ExpiresAt: at.Add(30 * time.Minute), Channel: "C1", CreatedAt: at}
		if err := s.SaveChatReply(ctx, want); err != nil {
			t.Fatal(err)
		}
		again := want
		again.URL = "https://hooks.slack.com/commands/T1/2/other"
		if err := s.SaveChatReply(ctx, again); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.ChatReply(ctx, "k1")
		if err != nil || !ok || got != want {
			t.Fatalf("ChatReply = %+v, %v, %v; want %+v", got, ok, err, want)
		}
		if err := s.NoteChatReply(ctx, "k1", 3, "1700000000.000100"); err != nil {
			t.Fatal(err)
		}
		got, _, _ = s.ChatReply(ctx, "k1")
		if got.Uses != 3 || got.ThreadTS != "1700000000.000100" {
			t.Fatalf("after NoteChatReply: %+v", got)
		}
		// Two posts that read the address before either noted its use (two
		// drains at once, or an address read with the outbox some posts
		// earlier) each note the count they saw plus one: the store counts
		// both, and keeps the thread the first started.
		if err := s.NoteChatReply(ctx, "k1", 4, "1700000000.000200"); err != nil {
			t.Fatal(err)
		}
		if err := s.NoteChatReply(ctx, "k1", 4, "1700000000.000300"); err != nil {
			t.Fatal(err)
		}
		got, _, _ = s.ChatReply(ctx, "k1")
		if got.Uses != 5 || got.ThreadTS != "1700000000.000100" {
			t.Fatalf("after two posts that each saw 3 uses: uses %d, thread %q; want 5 uses and the first thread %q", got.Uses, got.ThreadTS, "1700000000.000100")
		}
	})
}

// eachBackend runs test on a fresh store of every backend.
func eachBackend(t *testing.T, test func(t *testing.T, s *sqlstore.Store)) {
	for name, open := range map[string]func(t *testing.T) *sqlstore.Store{
		"sqlite":   func(t *testing.T) *sqlstore.Store { return openStore(t, sqliteURL(t)) },
		"postgres": func(t *testing.T) *sqlstore.Store { return openStore(t, testenv.StoreURL(t, "postgres")) },
		"mysql":    func(t *testing.T) *sqlstore.Store { return openStore(t, testenv.StoreURL(t, "mysql")) },
	} {
		t.Run(name, func(t *testing.T) { test(t, open(t)) })
	}
}

// The outbox reads bring each event's chat reply address with them, as
// ChatReply reads it, and say that they did for an event whose request
// came from no chat too: the chat replies' sink needs no read of its own.
func TestOutboxReadsBringTheChatReplyAddress(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		if err := s.SaveChatReply(ctx, store.ChatReply{RequestKey: "chat", Platform: store.PlatformDingTalk, URL: "https://oapi.dingtalk.com/robot/sendBySession?session=x",
			ExpiresAt: at.Add(time.Hour), Channel: "cid1", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		if err := s.NoteChatReply(ctx, "chat", 2, "1700000000.000100"); err != nil {
			t.Fatal(err)
		}
		want, ok, err := s.ChatReply(ctx, "chat")
		if err != nil || !ok {
			t.Fatalf("ChatReply = %v, %v", ok, err)
		}
		for _, key := range []string{"chat", "plain"} {
			r := store.Request{Key: key, Source: "src", EventID: key, ClientToken: "t-" + key, RegionID: "cn-hangzhou"}
			if _, _, err := s.Insert(ctx, r, []store.Event{{Event: outgoing.Event{ID: "ev-" + key, Type: "io.vpngw.test"}}}); err != nil {
				t.Fatal(err)
			}
		}
		check := func(how string, evs []store.Event) {
			t.Helper()
			if len(evs) != 2 {
				t.Fatalf("%s read %d events, want 2", how, len(evs))
			}
			for _, e := range evs {
				switch {
				case !e.ReplyRead:
					t.Errorf("%s: event of %s says its reply address was not read", how, e.RequestKey)
				case e.RequestKey == "chat" && (e.Reply == nil || *e.Reply != want):
					t.Errorf("%s: event of chat has reply %+v, want %+v", how, e.Reply, want)
				case e.RequestKey == "plain" && e.Reply != nil:
					t.Errorf("%s: event of plain has reply %+v, want none", how, e.Reply)
				}
			}
		}
		evs, err := s.UnsentAfter(ctx, "chat", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		check("UnsentAfter", evs)
		each, err := s.UnsentForEach(ctx, []string{store.FirstSink, "chat"}, 10)
		if err != nil {
			t.Fatal(err)
		}
		check("UnsentForEach, first sink", each.Of[0])
		check("UnsentForEach, chat", each.Of[1])
	})
}
