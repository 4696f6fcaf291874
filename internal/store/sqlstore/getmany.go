package sqlstore

import (
	"context"
	"fmt"

	"github.com/vpngw/vpngw/internal/store"
)

// GetMany returns the requests with keys that exist, in no particular order,
// reading up to maxBatch keys per query.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]store.Request, error) {
	var out []store.Request
	for start := 0; start < len(keys); start += maxBatch {
		chunk := keys[start:min(start+maxBatch, len(keys))]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		q := `SELECT ` + requestColumns + ` FROM requests WHERE request_key IN (` + marks(len(chunk)) + `)`
		rows, err := s.rdb.QueryContext(ctx, s.d.rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("store: read requests in %s: %w", s.desc, err)
		}
		got, err := scanRequests(rows)
		if err != nil {
			return nil, fmt.Errorf("store: read requests in %s: %w", s.desc, err)
		}
		out = append(out, got...)
	}
	return out, nil
}
