package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vpngw/vpngw/internal/store"
)

// SaveChatReply records where a chat request's outcomes are posted. A
// request already holding an address keeps it: a platform's retry of the
// command names the same request.
func (s *Store) SaveChatReply(ctx context.Context, r store.ChatReply) error {
	q := `INSERT INTO chat_replies (request_key, platform, url, expires_at, channel, uses, thread_ts, created_at)
		VALUES (?, ?, ?, ?, ?, 0, '', ?)`
	if s.d.kind == "mysql" {
		q += ` ON DUPLICATE KEY UPDATE request_key = chat_replies.request_key`
	} else {
		q += ` ON CONFLICT (request_key) DO NOTHING`
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	_, err := s.wdb.ExecContext(ctx, s.d.rebind(q), r.RequestKey, r.Platform, r.URL, s.d.timeArg(r.ExpiresAt), r.Channel, s.d.timeArg(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: record the chat reply address of request %s in %s: %w", r.RequestKey, s.desc, err)
	}
	return nil
}

// ChatReply returns the reply address of the request; ok is false when its
// command came from no chat.
func (s *Store) ChatReply(ctx context.Context, key string) (r store.ChatReply, ok bool, err error) {
	var expires, created timeScan
	err = s.reader().QueryRowContext(ctx, s.d.rebind(`SELECT request_key, platform, url, expires_at, channel, uses, thread_ts, created_at
		FROM chat_replies WHERE request_key = ?`), key).
		Scan(&r.RequestKey, &r.Platform, &r.URL, &expires, &r.Channel, &r.Uses, &r.ThreadTS, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ChatReply{}, false, nil
	}
	if err != nil {
		return store.ChatReply{}, false, fmt.Errorf("store: read the chat reply address of request %s in %s: %w", key, s.desc, err)
	}
	r.ExpiresAt, r.CreatedAt = expires.t, created.t
	return r, true, nil
}

// NoteChatReply records what a post to the request's conversation used:
// the uses of its URL so far, and the thread later bot posts go under.
func (s *Store) NoteChatReply(ctx context.Context, key string, uses int, threadTS string) error {
	_, err := s.wdb.ExecContext(ctx, s.d.rebind(`UPDATE chat_replies SET uses = ?, thread_ts = ? WHERE request_key = ?`), uses, threadTS, key)
	if err != nil {
		return fmt.Errorf("store: note a chat reply of request %s in %s: %w", key, s.desc, err)
	}
	return nil
}
