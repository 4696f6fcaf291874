package sqlstore

import (
	"context"

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
		got, err := s.queryRequests(ctx, "read requests in", q, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}
