package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// expand replaces every batch request by its items, each a request with an
// identity of its own (source, events.BatchItemID), after recording the
// batch itself so that its summary can be written once every item is
// terminal. A batch that cannot be read is rejected as one request. It
// returns the flat inputs and, for batches that were rejected or could not
// be recorded, their results and errors.
func (s *Service) expand(ctx context.Context, in []Input, hold batchHold) ([]Input, []Result, []error) {
	var (
		flat    []Input
		results []Result
		errs    []error
	)
	for _, x := range in {
		if x.Err != nil || x.Type != events.TypeBatchRequested || events.IsBatchItemID(x.Identity.EventID) {
			// A batch with an item's id is refused as one request.
			flat = append(flat, x)
			continue
		}
		// A batch whose items' identities (id/item-NNNN) the store could not
		// keep is refused unrecorded, as a request would be (record).
		if ferrs := batchIdentityErrors(x.Identity); ferrs != nil {
			results = append(results, s.unrecordable(ctx, x.Identity.Key(), x.Identity, ferrs))
			continue
		}
		items, err := s.recordBatch(ctx, x, hold)
		switch {
		case errors.Is(err, errNotBatch):
			results = append(results, s.notBatch(ctx, x.Identity))
		case errors.Is(err, errBadBatch):
			// Let the ordinary path reject and record it, under the batch's
			// own identity.
			x.Err = err
			flat = append(flat, x)
		case errors.Is(err, store.ErrInvalidValue):
			// The batch's own record is refused for good (a value of its
			// data): every delivery would be, so it is answered failed,
			// not asked again.
			results = append(results, s.refusedByStore(ctx, x.Identity.Key(), x.Identity, err))
		case err != nil:
			// Why is in the invocation's error (the operator's log): a
			// store's error names where the store is, which a requester is
			// not told.
			id := x.Identity
			results = append(results, Result{Source: id.Source, EventID: id.EventID, Key: id.Key(), Retry: true,
				Message: "not recorded, deliver again: the store did not take the batch's record (the function's log says why)"})
			errs = append(errs, err)
		default:
			flat = append(flat, items...)
		}
	}
	return flat, results, errs
}

// batchIdentityErrors reports what keeps the identities of a batch's items
// from being recorded: the batch's own problems, and an id too long to take
// the items' "/item-NNNN".
func batchIdentityErrors(id request.Identity) []events.FieldError {
	if errs := id.Check(); errs != nil {
		return errs
	}
	item := events.BatchItemID(id.EventID, 0)
	if n := utf8.RuneCountInString(item); n > request.MaxIdentityLength {
		max := request.MaxIdentityLength - (len(item) - len(id.EventID))
		return []events.FieldError{{Field: "id", Value: clipIdentity(id.EventID),
			Allowed: fmt.Sprintf("at most %d characters for a batch, whose items' ids add /item-NNNN", max),
			Message: fmt.Sprintf("id is %d characters long; a batch's id may have at most %d, so that its items' ids (id/item-NNNN) fit the %d kept", n-(len(item)-len(id.EventID)), max, request.MaxIdentityLength)}}
	}
	return nil
}

// errBadBatch marks a batch request whose envelope cannot be used.
var errBadBatch = errors.New("invalid batch request")

// batchError carries the field errors of a bad batch.
type batchError struct{ errs []events.FieldError }

func (e *batchError) Error() string {
	msg := errBadBatch.Error() + ":"
	for _, f := range e.errs {
		msg += " " + f.Message + ";"
	}
	return msg[:len(msg)-1]
}

func (e *batchError) Is(target error) bool             { return target == errBadBatch }
func (e *batchError) FieldErrors() []events.FieldError { return e.errs }

// decodeBatch reads a batch request's data.
func decodeBatch(data []byte) (events.BatchRequest, error) {
	var b events.BatchRequest
	if err := events.DecodeData(data, &b); err != nil {
		return b, &batchError{[]events.FieldError{{Field: "data", Message: err.Error(), Allowed: `{"Requests": [CreateVpnGateway parameters, ...]}`}}}
	}
	if n := len(b.Requests); n == 0 || n > events.MaxBatchItems {
		return b, &batchError{[]events.FieldError{{Field: "Requests", Value: fmt.Sprint(n),
			Allowed: fmt.Sprintf("1 to %d items", events.MaxBatchItems),
			Message: fmt.Sprintf("a batch holds 1 to %d requests, this one %d", events.MaxBatchItems, n)}}}
	}
	return b, nil
}

// batchItems turns a batch into its item requests. Each item keeps the
// batch's requester (caller, chat user) and dry-run flag, so that it is
// decided exactly as the same request sent alone by the same path.
//
// Items are named as the batch's record says (scheme): events.BatchItemID
// and keyed apart from every event, or, for a batch recorded before items
// had a form of their own, "<event id>/<index>" keyed as an event.
func batchItems(batch Input, b events.BatchRequest, scheme store.ItemScheme) []Input {
	items := make([]Input, len(b.Requests))
	for i, raw := range b.Requests {
		id := request.Identity{Source: batch.Identity.Source, EventID: events.BatchItemID(batch.Identity.EventID, i), Subject: batch.Identity.Subject, Item: true}
		if scheme == store.ItemsByIndex {
			id.EventID, id.Item = fmt.Sprintf("%s/%04d", batch.Identity.EventID, i), false
		}
		items[i] = Input{
			Identity:    id,
			item:        true,
			batch:       batch.Identity.Key(),
			Type:        events.TypeRequested,
			Data:        raw,
			TraceParent: batch.TraceParent,
			Caller:      batch.Caller,
			Key:         batch.Key,
			ChatUser:    batch.ChatUser,
			Origin:      batch.Origin,
			DryRun:      batch.DryRun,
			Expires:     batch.Expires,
			EventTime:   batch.EventTime,
			expiresAt:   batch.expiresAt,
		}
		if deleteItem(raw) {
			msg := fmt.Sprintf("item %d of the batch names a gateway to delete (VpnGatewayId or Request): a batch holds creates only; send each delete as an %s event of its own", i, events.TypeDeleteRequested)
			items[i].Err = &request.EventError{Problems: []events.FieldError{{Field: fmt.Sprintf("Requests[%d]", i),
				Allowed: "CreateVpnGateway parameters (a batch holds creates only)", Message: msg}}}
		}
	}
	return items
}

// deleteItem says that a batch item is shaped as a delete request: it has
// a VpnGatewayId or Request member, which no create request has.
func deleteItem(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	_, byID := m["VpnGatewayId"]
	_, byRef := m["Request"]
	return byID || byRef
}

// errNotBatch says that a batch's id is already used by a request that is
// not a batch.
var errNotBatch = errors.New("id already used by a request that is not a batch")

// notBatch answers a batch whose id a single request of its source already
// holds: refused, and that request's record is left as it is.
func (s *Service) notBatch(ctx context.Context, id request.Identity) Result {
	msg := "id already used by a request that is not a batch; send a new id"
	src, eid := clipIdentity(id.Source), clipIdentity(id.EventID)
	s.log.WarnContext(ctx, "batch refused: its id is a single request's", "request_key", id.Key(), "source", src, "event_id", eid)
	return Result{Source: src, EventID: eid, Key: id.Key(), State: store.Failed, Code: events.CodeInvalidRequest, Message: msg,
		Errors: []events.FieldError{{Field: "id", Value: eid, Allowed: "an id no single request of the source uses", Message: msg}}}
}

// recordBatch records the batch (its data kept whole, and its requester and
// dry-run flag, so that a tick can finish it as this delivery would even if
// no delivery ever comes again) and returns its items. A batch recorded
// now is held by hold from the start: a reconcile tick could otherwise
// claim it before the invocation holds it, and continue its items while
// the invocation answers them as another's.
func (s *Service) recordBatch(ctx context.Context, x Input, hold batchHold) ([]Input, error) {
	b, err := decodeBatch(x.Data)
	if err != nil {
		return nil, err
	}
	id := x.Identity
	now := s.now()
	who := policy.Requester{Source: id.Source, Caller: x.Caller, Key: x.Key, ChatUser: x.ChatUser, Origin: x.Origin}
	sinks, err := s.routeOf(who)
	if err != nil {
		return nil, fmt.Errorf("route batch %s: %w", id.Key(), err)
	}
	// The batch's vpngwexpires is resolved once, at its receipt, for all its
	// items; one that cannot be (in the past) refuses the batch.
	at, eerr := s.expiry(x, now)
	if eerr != nil {
		return nil, &batchError{[]events.FieldError{{Field: request.ExpiresExtension, Value: truncate(x.Expires, 200), Allowed: request.ExpiresAllowed, Message: eerr.Error()}}}
	}
	x.expiresAt = at
	got, _, err := s.store.Insert(actingFor(ctx, x.Caller), store.Request{
		Key: id.Key(), Source: id.Source, EventID: id.EventID, Subject: id.Subject, ExpiresAt: x.expiresAt,
		Params: x.Data, State: store.Batch, CreatedAt: now, UpdatedAt: now, TraceParent: x.TraceParent,
		Caller: x.Caller, ChatUser: x.ChatUser, DryRun: x.DryRun, ItemScheme: store.ItemsApart,
		Origin: encodeOrigin(x.Key, x.Origin), Note: store.Note{Reason: fmt.Sprintf("batch of %d requests recorded", len(b.Requests))},
		Sinks: sinks, LeaseOwner: hold.owner, LeaseUntil: hold.until,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("record batch %s: %w", id.Key(), err)
	}
	if got.State != store.Batch && got.State != store.BatchDone {
		// The id is a single request's: its record is not this batch's,
		// and its item scheme names nothing.
		return nil, errNotBatch
	}
	// A redelivery names the items as the batch's first delivery did, and
	// gives them the expiry it resolved.
	x.expiresAt = got.ExpiresAt
	return batchItems(x, b, got.ItemScheme), nil
}

// continueItems creates, at once, the items of a batch that no invocation
// attempted (the deadline of the invocation that worked on the batch came
// first): the caller holds the batch, so no invocation is creating them
// now, and the batch is known to be in progress, so there is no reason to
// wait VPNGW_REDRIVE_AFTER as for a request whose delivery may still be
// running. An item that was attempted and failed keeps that wait (the
// reconcile tick's re-drive), which spaces its retries. Each item keeps
// its ClientToken and moves on only from received, so nothing is created
// twice. It returns how many items it took up.
func (s *Service) continueItems(ctx context.Context, keys []string, byKey map[string]store.Request) (int, error) {
	var todo []store.Request
	for _, k := range keys {
		if r := byKey[k]; r.State == store.Received && r.Attempts == 0 {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	var (
		mu    sync.Mutex
		first error
	)
	s.parallel(len(todo), func(i int) {
		if s.deadlineNear(ctx) {
			return
		}
		if _, err := s.Redrive(ctx, todo[i]); err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	})
	if first != nil && !notSent(first) {
		return len(todo), first
	}
	return len(todo), nil
}

// FinishBatch is the reconcile tick's part in a batch: it records and
// creates any item that no delivery reached (a crash between recording the
// batch and its items), and once every item is terminal it writes the
// batch's summary, once. It reports whether the batch is done.
func (s *Service) FinishBatch(ctx context.Context, batch store.Request, leaseOwner string) (bool, error) {
	b, err := decodeBatch(batch.Params)
	if err != nil {
		return false, fmt.Errorf("batch %s: %w", batch.Key, err)
	}
	x := Input{
		Identity: request.Identity{Source: batch.Source, EventID: batch.EventID, Subject: batch.Subject}, Type: events.TypeBatchRequested,
		TraceParent: batch.TraceParent, Caller: batch.Caller, ChatUser: batch.ChatUser, DryRun: batch.DryRun,
		expiresAt: batch.ExpiresAt,
	}
	x.Key, x.Origin = decodeOrigin(batch.Origin)
	items := batchItems(x, b, batch.ItemScheme)
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Identity.Key()
	}
	recs, err := s.store.GetMany(ctx, keys)
	if err != nil {
		return false, err
	}
	byKey := make(map[string]store.Request, len(recs))
	for _, r := range recs {
		byKey[r.Key] = r
	}
	var missing []Input
	for i, k := range keys {
		if _, ok := byKey[k]; !ok {
			// The caller holds the batch: the items are its to create.
			items[i].batch = ""
			missing = append(missing, items[i])
		}
	}
	// refused are the items answered failed for good that the store
	// could not record even as refused: the summary counts them failed
	// with that answer, so that no tick asks for them again.
	refused := map[string]Result{}
	if len(missing) > 0 {
		// Redrive what no delivery recorded; the next tick looks again.
		res, err := s.HandleAll(ctx, missing)
		if err != nil {
			return false, err
		}
		for _, r := range res {
			if _, ok := byKey[r.Key]; !ok && r.State == store.Failed && !r.Retry {
				refused[r.Key] = r
			}
		}
		if len(refused) < len(missing) {
			return false, nil
		}
	}
	if n, err := s.continueItems(ctx, keys, byKey); n > 0 || err != nil {
		return false, err
	}
	sum := events.BatchCompleted{Request: x.Identity.Ref(), Total: len(items)}
	for i, k := range keys {
		r, ok := byKey[k]
		if a, gone := refused[k]; !ok && gone {
			r = store.Request{State: store.Failed, LastError: truncate(a.Code+": "+a.Message, 1000)}
		}
		switch r.State {
		case store.Active:
			sum.Active++
		case store.DryRun:
			// A dry-run item that passed: answered with validated, and
			// nothing created. It is as final as active or failed.
			sum.Validated++
		case store.Failed:
			sum.Failed++
			sum.FailedItems = append(sum.FailedItems, events.BatchItemFailure{
				Index: i, EventID: items[i].Identity.EventID, VpnGatewayId: r.GatewayID, Reason: r.LastError,
			})
		default:
			return false, nil // not yet
		}
	}
	sort.Slice(sum.FailedItems, func(a, b int) bool { return sum.FailedItems[a].Index < sum.FailedItems[b].Index })
	now := s.now()
	ev, err := s.event(events.TypeBatchCompleted, batch.Key, "", batch.TraceParent, now, sum)
	if err != nil {
		return false, err
	}
	why := fmt.Sprintf("every item settled: %d active, %d failed, %d validated", sum.Active, sum.Failed, sum.Validated)
	_, err = s.store.Transition(ctx, batch.Key, []store.State{store.Batch}, store.BatchDone, leaseOwner, store.Change{Note: store.Note{Reason: why}}, ev)
	if errors.Is(err, store.ErrConflict) {
		return true, nil // another tick wrote it
	}
	if err != nil {
		return false, err
	}
	s.log.InfoContext(ctx, "batch completed", "request_key", batch.Key, "total", sum.Total, "active", sum.Active, "failed", sum.Failed, "validated", sum.Validated)
	return true, nil
}

// routeOf is the routing of who's outcomes: the sinks of the rule that
// matches who (a rule matches by requester alone, whatever is asked), none
// without a policy or a rule.
func (s *Service) routeOf(who policy.Requester) ([]string, error) {
	if s.policy == nil {
		return nil, nil
	}
	d, err := s.policy.Decide(who, events.GatewayRequest{})
	if err != nil {
		return nil, err
	}
	return d.Sinks, nil
}
