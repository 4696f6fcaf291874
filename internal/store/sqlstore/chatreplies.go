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
// one more use of its URL, at least uses in all (what the poster counted,
// or the limit once the URL is spent), and the thread later bot posts go
// under. Posts whose address was read before another post noted its use
// (drains side by side, or an address read with the outbox some posts
// earlier) are each counted, not written over one another, and the first
// thread noted is kept.
func (s *Store) NoteChatReply(ctx context.Context, key string, uses int, threadTS string) error {
	_, err := s.wdb.ExecContext(ctx, s.d.rebind(`UPDATE chat_replies
		SET uses = CASE WHEN uses + 1 > ? THEN uses + 1 ELSE ? END, thread_ts = COALESCE(NULLIF(thread_ts, ''), ?)
		WHERE request_key = ?`), uses, uses, threadTS, key)
	if err != nil {
		return fmt.Errorf("store: note a chat reply of request %s in %s: %w", key, s.desc, err)
	}
	return nil
}

// The outbox reads (UnsentAfter, UnsentForEach) bring each event's chat
// reply address with them, so that the chat replies' sink posts an
// outcome without a read of its own (ChatReply) per event.
const (
	replyColumns = `c.request_key, c.platform, c.url, c.expires_at, c.channel, c.uses, c.thread_ts, c.created_at`
	replyJoin    = `LEFT JOIN chat_replies c ON c.request_key = o.request_key`
)

// replyScan reads replyColumns, NULL when the request has no address.
type replyScan struct {
	key, platform, url, channel, threadTS sql.NullString
	uses                                  sql.NullInt64
	expires, created                      timeScan
}

func (r *replyScan) dest() []any {
	return []any{&r.key, &r.platform, &r.url, &r.expires, &r.channel, &r.uses, &r.threadTS, &r.created}
}

// reply is the address read, nil for none.
func (r *replyScan) reply() *store.ChatReply {
	if !r.key.Valid {
		return nil
	}
	return &store.ChatReply{RequestKey: r.key.String, Platform: r.platform.String, URL: r.url.String, ExpiresAt: r.expires.t,
		Channel: r.channel.String, Uses: int(r.uses.Int64), ThreadTS: r.threadTS.String, CreatedAt: r.created.t}
}
