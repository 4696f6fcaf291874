package sqlstore_test

import (
	"context"
	"testing"
	"time"

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
