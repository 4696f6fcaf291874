package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// Deleter deletes gateways, and reads one before it does, so that only a
// gateway whose tags say vpngw created it is deleted.
type Deleter interface {
	// Gateway returns the gateway id in region as DescribeVpnGateways
	// reports it, and whether it does.
	Gateway(ctx context.Context, region, id string) (cloud.Gateway, bool, error)
	// Delete calls DeleteVpnGateway with clientToken and returns the
	// API's request id.
	Delete(ctx context.Context, region, id, clientToken string) (string, error)
}

// DeletePolicy decides who may delete which gateway. The operator's
// policy (*policy.Policy) implements it beside Policy; without it every
// delete request is denied.
type DeletePolicy interface {
	DecideDelete(who policy.Requester, t policy.DeleteTarget) (policy.Decision, error)
}

// expiryPolicy decides vpngw's own deletion of a gateway at its expiry: the
// operator's policy allowed that with the create request (its
// requireExpiry and maxLifetime), so it is not asked again.
type expiryPolicy struct{}

func (expiryPolicy) DecideDelete(policy.Requester, policy.DeleteTarget) (policy.Decision, error) {
	return policy.Decision{Allowed: true, Message: "the gateway's expiry (vpngwexpires), allowed when it was created"}, nil
}

// WithDeleter lets the service take delete requests
// (io.vpngw.gateway.delete.requested). Without it they are refused.
func WithDeleter(d Deleter) Option { return func(s *Service) { s.deleter = d } }

// CodeNoGateway is a deletion's failure code when the create request it
// names made no gateway (it failed, was a dry run, or was not yet accepted).
const CodeNoGateway = "NoGateway"

// noDeletePolicy is the denial of every delete request when no operator
// policy decides deletions.
const noDeletePolicy = "no operator policy allows deleting: vpngw deletes a gateway only when a rule of VPNGW_POLICY lists delete in its actions"

func noDeletePolicyErrors() []events.FieldError {
	return []events.FieldError{{Field: "type", Value: events.TypeDeleteRequested, Allowed: "a policy rule whose actions list delete", Message: noDeletePolicy}}
}

// recordDelete decides and records a delete request; need says that
// DeleteVpnGateway is to be called for it. Only a gateway a create request
// in the store made is taken (its tags are checked before the call), and
// only when the policy allows the requester to delete it.
func (s *Service) recordDelete(ctx context.Context, log *slog.Logger, in Input, id request.Identity, key string, recorded bool, got store.Request) (store.Request, request.Identity, Result, bool, error) {
	retry := Result{Source: id.Source, EventID: id.EventID, Key: key, Retry: true}
	if recorded {
		// Left Received by an earlier delivery: delete with its recorded
		// token, unless this delivery is another request under its id.
		if !sameDelivery(got, in) {
			return got, id, otherDelivery(id, got), false, nil
		}
		if res, settled, err := s.redecideDelete(ctx, log, id, got); settled || err != nil {
			return got, id, res, false, err
		}
		return got, id, Result{}, true, nil
	}
	now := s.now()
	rec := store.Request{
		Key: key, Kind: store.KindDelete, Source: id.Source, EventID: id.EventID, Subject: id.Subject,
		ClientToken: request.DeleteClientToken(id), Params: in.Data, Data: in.Data,
		CreatedAt: now, UpdatedAt: now, TraceParent: in.TraceParent,
		Caller: in.Caller, ChatUser: in.ChatUser, DryRun: in.DryRun, Origin: encodeOrigin(in.Key, in.Origin),
	}
	d, perr := request.ParseDelete(in.Data)
	if perr != nil {
		var verr *request.Error
		errs := []events.FieldError{{Field: "data", Message: perr.Error()}}
		if errors.As(perr, &verr) {
			errs = verr.Errors
		}
		rec.RegionID = storable(d.RegionId, request.MaxRegionIDLength)
		rec.GatewayID = storable(d.VpnGatewayId, request.MaxResourceIDLength)
		return s.reject(ctx, log, rec, id, events.StageValidation, events.CodeInvalidRequest, perr.Error(), errs)
	}
	rec.RegionID, rec.GatewayID = d.RegionId, d.VpnGatewayId
	who := policy.Requester{Source: id.Source, Caller: in.Caller, Key: in.Key, ChatUser: in.ChatUser, Origin: in.Origin}
	dp, ok := s.policy.(DeletePolicy)
	if in.expiry {
		// vpngw's own deletion at expiry (Expire): the policy allowed it
		// with the create request, and is not asked again.
		dp, ok = expiryPolicy{}, true
	}
	if !ok {
		return s.reject(ctx, log, rec, id, events.StagePolicy, events.CodePolicyDenied, noDeletePolicy, noDeletePolicyErrors())
	}
	// A requester the policy lets delete nothing (no rule, or a rule
	// without delete), or nothing in the region it names, is denied before
	// the lookup: its answer does not tell whether what it names exists.
	named := d.VpnGatewayId
	if d.Request != nil {
		named = "the gateway of the request it names"
	}
	pre, err := dp.DecideDelete(who, policy.DeleteTarget{GatewayID: named, RegionID: d.RegionId, CreatedBy: who})
	if err != nil {
		return rec, id, retry, false, fmt.Errorf("decide policy for %s: %w", key, err)
	}
	if !pre.Allowed && (d.Request == nil || slices.ContainsFunc(pre.Violations, func(v events.FieldError) bool { return v.Field == "type" || v.Field == "source" })) {
		rec.Sinks = pre.Sinks
		return s.reject(ctx, log, rec, id, events.StagePolicy, events.CodePolicyDenied, pre.Message, pre.Violations)
	}
	created, field, code, msg, err := s.createdBy(ctx, d)
	if err != nil {
		return rec, id, retry, false, err
	}
	// A record was found: the policy decides first, so that a requester
	// it does not let delete the gateway learns nothing of the record (its
	// region, its state) from the refusal.
	var decision policy.Decision
	if created.Key != "" {
		decision, err = dp.DecideDelete(who, policy.DeleteTarget{GatewayID: created.GatewayID, RegionID: created.RegionID, VpcID: created.VpcID, CreatedBy: recordedRequester(created)})
		if err != nil {
			return rec, id, retry, false, fmt.Errorf("decide policy for %s: %w", key, err)
		}
		// The matched rule's routing: every outcome of the request, a
		// denial too, goes to its sinks.
		rec.Sinks = decision.Sinks
		if !decision.Allowed {
			return s.reject(ctx, log, rec, id, events.StagePolicy, events.CodePolicyDenied, decision.Message, decision.Violations)
		}
	}
	if code != "" {
		return s.reject(ctx, log, rec, id, events.StageDeletion, code, msg,
			[]events.FieldError{{Field: field, Value: truncate(fieldValue(d, field), 200), Allowed: "a gateway vpngw created", Message: msg}})
	}
	rec.RegionID, rec.VpcID, rec.GatewayID = created.RegionID, created.VpcID, created.GatewayID
	// Params is the request as it is carried out: both names of the
	// gateway, so that the outcome can name the create request it undoes.
	norm := events.DeleteRequest{RegionId: created.RegionID, VpnGatewayId: created.GatewayID,
		Request: &events.CreateRef{Source: created.Source, EventID: created.EventID}}
	if rec.Params, err = json.Marshal(norm); err != nil {
		return rec, id, retry, false, err
	}
	if in.expiry {
		// The expiry was decided with the create request; its outcomes go
		// where the create request's went.
		rec.State, rec.Sinks = store.Received, created.Sinks
		rec.Note.Reason = fmt.Sprintf("%s expired at %s (vpngwexpires, allowed when it was created)", created.GatewayID, created.ExpiresAt.UTC().Format(time.RFC3339))
		return s.insertDelete(ctx, log, rec, in, id)
	}
	rec.Note.Reason = allowedBy(decision) + " to delete " + created.GatewayID
	if decision.DryRun || in.DryRun {
		rec.State = store.DryRun
		rec.Note.Reason = "dry run: " + rec.Note.Reason
		got, _, err := s.store.Insert(ctx, rec, nil)
		if err != nil {
			return rec, id, retry, false, fmt.Errorf("record request %s: %w", key, err)
		}
		res := resultOf(id, got)
		res.Message = "dry run: " + decision.Message + "; nothing was deleted"
		return got, id, res, false, nil
	}
	rec.State = store.Received
	return s.insertDelete(ctx, log, rec, in, id)
}

// insertDelete records the delete request rec, decided, as received; need
// says that DeleteVpnGateway is to be called for it.
func (s *Service) insertDelete(ctx context.Context, log *slog.Logger, rec store.Request, in Input, id request.Identity) (store.Request, request.Identity, Result, bool, error) {
	key := rec.Key
	retry := Result{Source: id.Source, EventID: id.EventID, Key: key, Retry: true}
	got, isNew, err := s.store.Insert(ctx, rec, nil)
	if errors.Is(err, store.ErrInvalidValue) {
		return rec, id, s.refusedByStore(ctx, key, id, err), false, nil
	}
	if err != nil {
		return rec, id, retry, false, fmt.Errorf("record request %s: %w", key, err)
	}
	if !isNew && otherData(got, in.Data) {
		return got, id, s.conflict(log, id, got), false, nil
	}
	if !isNew && got.State != store.Received {
		return got, id, resultOf(id, got), false, nil
	}
	return got, id, Result{}, true, nil
}

// fieldValue is the value of a delete request's member field, for an
// error.
func fieldValue(d events.DeleteRequest, field string) string {
	switch {
	case field == "VpnGatewayId":
		return d.VpnGatewayId
	case field == "RegionId":
		return d.RegionId
	case d.Request != nil:
		return d.Request.Source + " " + d.Request.EventID
	}
	return ""
}

// createdBy finds the create request that made the gateway d names. A
// refusal comes back as the member at fault, a code and a message; err is a
// failure to read the store.
func (s *Service) createdBy(ctx context.Context, d events.DeleteRequest) (created store.Request, field, code, msg string, err error) {
	if d.Request != nil {
		ref := request.IdentityOf(d.Request.Source, d.Request.EventID)
		created, err = s.store.Get(ctx, ref.Key())
		switch {
		case errors.Is(err, store.ErrNotFound):
			return created, "Request", events.CodeNotCreatedByVpngw, fmt.Sprintf("no request with source %q and id %q is recorded: vpngw deletes only gateways it created", clipIdentity(d.Request.Source), clipIdentity(d.Request.EventID)), nil
		case err != nil:
			return created, "", "", "", fmt.Errorf("read request %s: %w", ref.Key(), err)
		case created.Kind != store.KindCreate:
			return created, "Request", events.CodeNotCreatedByVpngw, "Request names a delete request, not the create request whose gateway is to be deleted", nil
		case created.State == store.Batch || created.State == store.BatchDone:
			return created, "Request", CodeNoGateway, fmt.Sprintf("Request names a batch, which has no gateway of its own: name one of its items (%s)", events.BatchItemID(d.Request.EventID, 0)), nil
		case created.GatewayID == "":
			return created, "Request", CodeNoGateway, fmt.Sprintf("the create request made no gateway (it is %s): there is nothing to delete", created.State), nil
		}
	} else {
		created, err = s.store.CreatedGateway(ctx, d.VpnGatewayId)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return created, "VpnGatewayId", events.CodeNotCreatedByVpngw, fmt.Sprintf("no request recorded by vpngw created %s: vpngw deletes only gateways it created", d.VpnGatewayId), nil
		case err != nil:
			return created, "", "", "", fmt.Errorf("read the request that created %s: %w", d.VpnGatewayId, err)
		case created.RegionID != d.RegionId:
			return created, "RegionId", events.CodeNotCreatedByVpngw, fmt.Sprintf("vpngw created %s in %s, not in %s", d.VpnGatewayId, created.RegionID, d.RegionId), nil
		}
	}
	if created.State == store.Deleted {
		return created, "VpnGatewayId", events.CodeNotFound, fmt.Sprintf("gateway %s was already deleted", created.GatewayID), nil
	}
	return created, "", "", "", nil
}

// deleteGateway checks that the gateway carries the tags vpngw set on it
// and calls DeleteVpnGateway with the request's token: accepted, the
// request is Pending until reconcile sees the gateway gone; refused, it
// fails with Stage deletion and the API's code; a transient failure keeps
// it Received for the redelivery or the reconcile tick.
func (s *Service) deleteGateway(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request) (Result, error) {
	ctx = actingFor(ctx, rec.Caller)
	if s.deleter == nil {
		return s.failDelete(ctx, log, id, rec, events.CodePolicyDenied, "this deployment does not delete gateways", "")
	}
	var target events.DeleteRequest
	if err := json.Unmarshal(rec.Params, &target); err != nil || target.Request == nil {
		return Result{}, fmt.Errorf("decode recorded delete request %s: %v", rec.Key, err)
	}
	callCtx, cancel := s.callContext(ctx)
	g, found, err := s.deleter.Gateway(callCtx, rec.RegionID, rec.GatewayID)
	cancel()
	if err != nil {
		return s.deleteFault(ctx, log, id, rec, err)
	}
	if !found && rec.Attempts == 0 {
		return s.failDelete(ctx, log, id, rec, events.CodeNotFound,
			fmt.Sprintf("DescribeVpnGateways does not report %s in %s: it is already gone", rec.GatewayID, rec.RegionID), "")
	}
	if !found {
		// An earlier attempt may have deleted it and stopped before its
		// answer was recorded: reconcile confirms it gone and announces it.
		return s.deleteAccepted(ctx, log, id, rec, "gone after an earlier DeleteVpnGateway attempt")
	}
	if why := notOurs(g, *target.Request); why != "" {
		return s.failDelete(ctx, log, id, rec, events.CodeNotCreatedByVpngw, why, "")
	}
	callCtx, cancel = s.callContext(ctx)
	apiRequestID, err := s.deleter.Delete(callCtx, rec.RegionID, rec.GatewayID, rec.ClientToken)
	cancel()
	if err != nil {
		return s.deleteFault(ctx, log, id, rec, err)
	}
	return s.deleteAccepted(ctx, log, id, rec, "DeleteVpnGateway accepted: API request "+apiRequestID)
}

// deleteAccepted moves a delete request to Pending: the gateway is going,
// and reconcile announces it once DescribeVpnGateways no longer lists it.
func (s *Service) deleteAccepted(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request, why string) (Result, error) {
	got, err := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Pending, "",
		store.Change{AcceptedAt: s.now(), AddAttempt: true, Note: store.Note{Reason: truncate(why, store.MaxReason)}}, nil)
	if err != nil {
		return s.settledElsewhere(ctx, id, rec.Key, err)
	}
	log.InfoContext(ctx, "gateway deletion accepted", "gateway_id", rec.GatewayID, "why", why)
	return resultOf(id, got), nil
}

// notOurs says why g's tags do not show that vpngw created it for the
// create request ref, or "": vpngw:source must be the request's source and
// vpngw:event-id its id (or vpngw:client-token set, for a request that gave
// its own token).
func notOurs(g cloud.Gateway, ref events.CreateRef) string {
	want := policy.IdentityTags(ref.Source, ref.EventID, "")
	src, ok := g.Tags.Value(policy.TagSource)
	if !ok {
		return fmt.Sprintf("gateway %s carries no %s tag: DescribeVpnGateways does not report it as one vpngw created, so vpngw does not delete it", g.VpnGatewayId, policy.TagSource)
	}
	if src != want[0].Value {
		return fmt.Sprintf("gateway %s is tagged %s=%q, not the source %q of the request that vpngw recorded as creating it; vpngw does not delete it", g.VpnGatewayId, policy.TagSource, src, want[0].Value)
	}
	if ev, ok := g.Tags.Value(policy.TagEventID); ok && ev == want[1].Value {
		return ""
	}
	if _, ok := g.Tags.Value(policy.TagClientToken); ok {
		return ""
	}
	return fmt.Sprintf("gateway %s carries neither %s=%q nor %s: its tags do not name the request vpngw recorded as creating it; vpngw does not delete it",
		g.VpnGatewayId, policy.TagEventID, want[1].Value, policy.TagClientToken)
}

// deleteFault handles a failed Describe or Delete: an operator fault or a
// transient failure keeps the request Received and is handed back to be
// delivered again; a refusal fails it with the API's code.
func (s *Service) deleteFault(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request, err error) (Result, error) {
	var op OperatorFault
	if errors.As(err, &op) && op.OperatorFix() != "" {
		return s.operatorFault(ctx, log, id, rec, op, err)
	}
	var api APIError
	if errors.As(err, &api) && !api.Retryable() {
		return s.failDelete(ctx, log, id, rec, api.APICode(), api.APIMessage(), api.APIRequestID())
	}
	if _, terr := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Received, "",
		store.Change{AddAttempt: true, LastError: truncate(err.Error(), 1000), Note: transientNote(err)}, nil); terr != nil && !errors.Is(terr, store.ErrConflict) {
		log.ErrorContext(ctx, "record transient failure", "err", terr)
	}
	log.WarnContext(ctx, "delete failed, will retry", "err", err)
	return Result{Source: id.Source, EventID: id.EventID, Key: rec.Key, State: store.Received, VpnGatewayId: rec.GatewayID, Retry: true, Message: err.Error()},
		fmt.Errorf("delete gateway for %s: %w", rec.Key, err)
}

// failDelete fails a recorded delete request with Stage deletion, in one
// store operation with its failed event.
func (s *Service) failDelete(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request, code, msg, apiRequestID string) (Result, error) {
	ev, err := s.event(events.TypeFailed, rec.Key, rec.GatewayID, rec.TraceParent, s.now(), events.Failed{
		Request: id.Ref(), Stage: events.StageDeletion, Code: code, Message: msg, RequestId: apiRequestID,
		VpnGatewayId: rec.GatewayID, RegionId: rec.RegionID,
	})
	if err != nil {
		return Result{}, err
	}
	got, err := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Failed, "",
		store.Change{AddAttempt: true, LastError: truncate(code+": "+msg, 1000)}, ev)
	if err != nil {
		return s.settledElsewhere(ctx, id, rec.Key, err)
	}
	log.WarnContext(ctx, "deletion refused", "code", code, "gateway_id", rec.GatewayID, "api_request_id", apiRequestID)
	res := resultOf(id, got)
	res.Code = code
	return res, nil
}

// redecideDelete decides a delete request left Received again, as its
// recorded requester, under the policy in force now, before a redelivery or
// a re-drive calls DeleteVpnGateway for it, as a create is decided again:
// one the policy now denies fails PolicyDenied, one it now makes a dry run
// ends as a dry run. settled says that it was answered here.
func (s *Service) redecideDelete(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request) (Result, bool, error) {
	retry := Result{Source: id.Source, EventID: id.EventID, Key: rec.Key, State: store.Received, Retry: true}
	var target events.DeleteRequest
	if err := json.Unmarshal(rec.Params, &target); err != nil || target.Request == nil {
		return retry, true, fmt.Errorf("decode recorded delete request %s: %v", rec.Key, err)
	}
	ref := request.IdentityOf(target.Request.Source, target.Request.EventID)
	created, err := s.store.Get(ctx, ref.Key())
	if err != nil {
		return retry, true, fmt.Errorf("read request %s: %w", ref.Key(), err)
	}
	if expiryDelete(rec, created, s.now()) {
		// vpngw's own deletion at expiry goes on whatever the policy says
		// now: the gateway was allowed to live until then and no longer.
		return Result{}, false, nil
	}
	if s.orphanDelete(rec, created) {
		// The operator's policy asks for its orphans to be deleted
		// (orphans: delete): its rules' actions do not apply.
		return Result{}, false, nil
	}
	dp, ok := s.policy.(DeletePolicy)
	if !ok {
		res, err := s.settle(ctx, log, id, rec, events.StagePolicy, events.CodePolicyDenied, noDeletePolicy, noDeletePolicyErrors())
		return res, true, err
	}
	d, err := dp.DecideDelete(recordedRequester(rec), policy.DeleteTarget{GatewayID: rec.GatewayID, RegionID: rec.RegionID, VpcID: rec.VpcID, CreatedBy: recordedRequester(created)})
	if err != nil {
		return retry, true, fmt.Errorf("decide policy for %s: %w", rec.Key, err)
	}
	if !d.Allowed {
		res, err := s.settle(ctx, log, id, rec, events.StagePolicy, events.CodePolicyDenied, d.Message, d.Violations)
		return res, true, err
	}
	if !d.DryRun && !rec.DryRun {
		return Result{}, false, nil
	}
	got, err := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.DryRun, "",
		store.Change{Note: store.Note{Reason: "dry run: " + allowedBy(d) + " to delete " + rec.GatewayID}}, nil)
	if err != nil {
		res, serr := s.settledElsewhere(ctx, id, rec.Key, err)
		return res, true, serr
	}
	return resultOf(id, got), true, nil
}

// expiryDelete says whether rec is the deletion at expiry of created: its
// id is created's with ExpirySuffix, from created's source, and created's
// expiry has come. Whoever sent it, it deletes only what vpngw deletes at
// that time anyway.
func expiryDelete(rec, created store.Request, now time.Time) bool {
	return rec.Source == created.Source && rec.EventID == created.EventID+ExpirySuffix &&
		!created.ExpiresAt.IsZero() && !now.Before(created.ExpiresAt)
}

// orphanDelete says whether rec is the deletion reconcile records for the
// orphaned gateway of created (its id is created's with
// request.OrphanSuffix, from created's source, created failed) while the
// policy in force still says orphans: delete.
func (s *Service) orphanDelete(rec, created store.Request) bool {
	op, ok := s.policy.(interface{ Orphans() string })
	return ok && op.Orphans() == policy.OrphansDelete &&
		rec.Source == created.Source && rec.EventID == created.EventID+request.OrphanSuffix && created.State == store.Failed
}

// ExpirySuffix ends the id of the delete request vpngw makes at a
// gateway's expiry: "<create request id>/expiry", from the create
// request's source.
const ExpirySuffix = "/expiry"

// Expire deletes the gateway of create, an active create request past its
// ExpiresAt, as a delete request of its own would: it records the delete
// request "<id>/expiry" of create's source and runs it through the delete
// path (the record and tag checks, DeleteVpnGateway, then reconcile's
// deleted). The policy's delete permission is not asked: the expiry was
// decided with the create request. A call for a gateway whose expiry
// delete is already recorded answers from the record, with no API call.
func (s *Service) Expire(ctx context.Context, create store.Request) (Result, error) {
	if create.Kind != store.KindCreate || create.ExpiresAt.IsZero() || create.GatewayID == "" {
		return Result{}, fmt.Errorf("expire %s: not a create request with a gateway and an expiry", create.Key)
	}
	data, err := json.Marshal(events.DeleteRequest{Request: &events.CreateRef{Source: create.Source, EventID: create.EventID}})
	if err != nil {
		return Result{}, err
	}
	in := Input{
		Identity:    request.Identity{Source: create.Source, EventID: create.EventID + ExpirySuffix},
		Type:        events.TypeDeleteRequested,
		Data:        data,
		TraceParent: create.TraceParent,
		Caller:      create.Caller,
		ChatUser:    create.ChatUser,
		expiry:      true,
	}
	in.Key, in.Origin = decodeOrigin(create.Origin)
	return s.Handle(ctx, in)
}
