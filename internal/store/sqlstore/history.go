package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/textcut"
)

// note completes n as Change.Note says: the context's actor when n names
// none, fallback (the change's LastError) when it gives no reason; the
// reason is cut to store.MaxReason bytes.
func note(ctx context.Context, n store.Note, fallback string) store.Note {
	if n.Actor == "" {
		n.Actor = store.ActorFrom(ctx)
	}
	if n.Reason == "" {
		n.Reason = fallback
	}
	n.Reason = textcut.Cut(n.Reason, store.MaxReason)
	return n
}

// appendHistory writes the entry of a change of the request with key to
// state, in the change's transaction tx. maySame says the change may have
// left the state as it was: then it is written only when it says something
// the last entry does not (another state, actor or reason), so that a retry
// failing as the one before adds nothing.
func (s *Store) appendHistory(ctx context.Context, w queryer, key string, state store.State, gatewayID string, n store.Note, at time.Time, maySame bool) error {
	if maySame {
		var last, actor, reason string
		err := w.QueryRowContext(ctx, s.d.rebind(`SELECT state, actor, reason FROM request_history
			WHERE request_key = ? ORDER BY seq DESC LIMIT 1`), key).Scan(&last, &actor, &reason)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read the last history entry: %w", err)
		}
		if err == nil && last == string(state) && actor == string(n.Actor) && reason == n.Reason {
			return nil
		}
	}
	_, err := w.ExecContext(ctx, s.d.rebind(`INSERT INTO request_history (request_key, at, state, actor, reason, gateway_id)
		VALUES (?, ?, ?, ?, ?, ?)`), key, s.d.timeArg(at), string(state), string(n.Actor), n.Reason, gatewayID)
	if err != nil {
		return fmt.Errorf("append history entry: %w", err)
	}
	return nil
}

// History implements store.Store.
func (s *Store) History(ctx context.Context, key string) ([]store.HistoryEntry, error) {
	out, err := s.history(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("store: history of %s in %s: %w", key, s.desc, err)
	}
	return out, nil
}

func (s *Store) history(ctx context.Context, key string) ([]store.HistoryEntry, error) {
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(`SELECT seq, at, state, actor, reason, gateway_id
		FROM request_history WHERE request_key = ? ORDER BY seq`), key)
	if err != nil {
		return nil, err
	}
	out, err := scanAll(rows, func(row scanner) (store.HistoryEntry, error) {
		var (
			e     store.HistoryEntry
			at    timeScan
			state string
			actor string
		)
		err := row.Scan(&e.Seq, &at, &state, &actor, &e.Reason, &e.GatewayID)
		e.At, e.State, e.Actor = at.t, store.State(state), store.Actor(actor)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		// No entry: no request, or one whose history was lost some other
		// way; only the first is an error.
		var one int
		err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM requests WHERE request_key = ?`), key).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
