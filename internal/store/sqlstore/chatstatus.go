package sqlstore

import (
	"context"
	"fmt"

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
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(q), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: read the chat requests of %s in %s: %w", source, s.desc, err)
	}
	defer rows.Close()
	var out []store.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("store: read the chat requests of %s in %s: %w", source, s.desc, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read the chat requests of %s in %s: %w", source, s.desc, err)
	}
	return out, nil
}
