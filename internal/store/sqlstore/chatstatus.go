package sqlstore

import (
	"context"

	"github.com/vpngw/vpngw/internal/store"
)

// ChatRequests returns the requests chatUser made from source (a chat
// request's source: the Slack workspace, the DingTalk conversation), newest
// first, at most limit; with ref, only the one whose request id (event id)
// or gateway id is ref.
func (s *Store) ChatRequests(ctx context.Context, source, chatUser, ref string, limit int) ([]store.Request, error) {
	if limit <= 0 || chatUser == "" {
		return nil, nil
	}
	q := `SELECT ` + requestColumns + ` FROM requests WHERE source = ? AND chat_user = ?`
	args := []any{source, chatUser}
	if ref != "" {
		q += ` AND (event_id = ? OR gateway_id = ?)`
		args = append(args, ref, ref)
	}
	q += ` ORDER BY created_at DESC, request_key LIMIT ?`
	return s.queryRequests(ctx, "read the chat requests of "+source+" in", q, append(args, limit)...)
}
