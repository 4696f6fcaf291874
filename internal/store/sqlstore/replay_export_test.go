package sqlstore

import "context"

// ReplayKeyCount counts the rows of replay_keys, expired or not, so that the
// external tests can watch FirstUse's clean-up.
func (s *Store) ReplayKeyCount(ctx context.Context) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM replay_keys`).Scan(&n)
	return n, err
}
