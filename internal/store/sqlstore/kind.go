package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vpngw/vpngw/internal/store"
)

// kindCreate is how the kind column spells store.KindCreate (migration
// 0016's default, so that every request recorded before it is a create).
const kindCreate = "create"

// kindArg is the kind column's value for k.
func kindArg(k store.Kind) string {
	if k == store.KindCreate {
		return kindCreate
	}
	return string(k)
}

// CreatedGateway implements store.Store: the oldest create request whose
// gateway is gatewayID.
func (s *Store) CreatedGateway(ctx context.Context, gatewayID string) (store.Request, error) {
	if gatewayID == "" {
		return store.Request{}, store.ErrNotFound
	}
	q := `SELECT ` + requestColumns + ` FROM requests WHERE gateway_id = ? AND kind = ? ORDER BY created_at, request_key LIMIT 1`
	r, err := scanRequest(s.rdb.QueryRowContext(ctx, s.d.rebind(q), gatewayID, kindCreate))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Request{}, store.ErrNotFound
	}
	if err != nil {
		return store.Request{}, fmt.Errorf("store: read the request that created %s in %s: %w", gatewayID, s.desc, err)
	}
	return r, nil
}
