package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// heldBatches are the batches one invocation holds while it creates their
// items: a reconcile tick's Claim skips a held batch, so that the tick
// continues a batch only once no invocation works on it.
type heldBatches struct {
	s     *Service
	owner string
	keys  map[string]bool // batch key → held by this invocation
}

// holdFor is how long a batch is held when the invocation has no deadline.
const holdFor = 15 * time.Minute

// batchHold is the hold an invocation takes on the batches it works on:
// its owner, and the hold's end (ctx's deadline).
type batchHold struct {
	owner string
	until time.Time
}

// newBatchHold is the hold of an invocation whose context is ctx.
func (s *Service) newBatchHold(ctx context.Context) batchHold {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	now := s.now()
	until := now.Add(holdFor)
	if dl, ok := ctx.Deadline(); ok {
		until = now.Add(time.Until(dl))
	}
	return batchHold{owner: "provision-" + hex.EncodeToString(b), until: until}
}

// holdBatches holds every batch whose items are in flat, until ctx's
// deadline (a batch this delivery recorded first is held from its
// recording on, see recordBatch). A batch another invocation holds is left
// to it. When the store cannot say, the batch is taken as held: its items
// are created here, as before batches were held, and the same ClientToken
// keeps that safe.
func (s *Service) holdBatches(ctx context.Context, flat []Input, hold batchHold) *heldBatches {
	h := &heldBatches{s: s, owner: hold.owner, keys: map[string]bool{}}
	for _, x := range flat {
		if x.batch == "" {
			continue
		}
		if _, seen := h.keys[x.batch]; seen {
			continue
		}
		ok, err := s.store.Hold(ctx, x.batch, h.owner, s.now(), hold.until)
		if err != nil {
			s.log.WarnContext(ctx, "batch not held; its items are created anyway", "request_key", x.batch, "err", err)
			ok = !errors.Is(err, context.Canceled)
		}
		h.keys[x.batch] = ok
	}
	return h
}

// holds says whether this invocation holds the batch with key.
func (h *heldBatches) holds(key string) bool { return h.keys[key] }

// release hands the held batches back at once, so that a reconcile tick
// continues what the invocation left without waiting for the hold to end.
func (h *heldBatches) release(ctx context.Context) {
	var keys []string
	for k, ok := range h.keys {
		if ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	// The invocation's own context may be at its end; the release is
	// short and still worth making.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := h.s.store.Release(rctx, h.owner, keys); err != nil {
		h.s.log.WarnContext(ctx, "batch hold not released; it ends at the invocation's deadline", "err", err)
	}
}

// notSent says that err is a failure before anything was sent to the API
// (the rate limit had no start for the call before the deadline).
func notSent(err error) bool {
	var ns interface{ NotSent() bool }
	return errors.As(err, &ns) && ns.NotSent()
}
