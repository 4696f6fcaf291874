package provision

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/textcut"
)

// Store is what provisioning needs of the request store.
type Store interface {
	Get(ctx context.Context, key string) (store.Request, error)
	GetMany(ctx context.Context, keys []string) ([]store.Request, error)
	Insert(ctx context.Context, r store.Request, events []store.Event) (store.Request, bool, error)
	InsertMany(ctx context.Context, rs []store.Request) ([]store.Inserted, error)
	InsertWithin(ctx context.Context, r store.Request, events []store.Event, q store.Quota) (store.Request, bool, error)
	CheckQuota(ctx context.Context, key string, q store.Quota) error
	Transition(ctx context.Context, key string, from []store.State, to store.State, leaseOwner string, c store.Change, events []store.Event) (store.Request, error)
	Hold(ctx context.Context, key, owner string, now, until time.Time) (bool, error)
	Release(ctx context.Context, owner string, keys []string) error
	CreatedGateway(ctx context.Context, gatewayID string) (store.Request, error)
}

// Policy decides whether a requester may have the gateway it asks for. The
// decision's quota is applied by the store as the request is recorded.
type Policy interface {
	Decide(who policy.Requester, r events.GatewayRequest) (policy.Decision, error)
}

// Created is what the cloud answers to a successful CreateVpnGateway.
type Created struct {
	GatewayID string
	Name      string
	OrderID   int64
	RequestID string
}

// Creator creates gateways.
type Creator interface {
	Create(ctx context.Context, r events.GatewayRequest, clientToken string) (Created, error)
}

// APIError is how a Creator's failures tell permanent from transient. The
// cloud adapter's errors implement it.
type APIError interface {
	error
	Retryable() bool
	APICode() string
	APIMessage() string
	APIRequestID() string
}

// Input is one request as intake found it.
type Input struct {
	Identity    request.Identity
	Type        string
	Data        []byte
	TraceParent string
	// Err is a problem with the envelope (not the data); the request is then
	// rejected at the validation stage.
	Err error
	// Caller, Key and ChatUser are who a webhook authenticated; the policy
	// matches them besides the source.
	Caller, Key, ChatUser string
	// Origin is what the platform stamped on an event it delivered; intake
	// sets it only for event-bus deliveries.
	Origin policy.Origin
	// DryRun asks for the decision only: nothing is created.
	DryRun bool
	// Expires is the request's vpngwexpires as it arrived ("" for none),
	// and EventTime its event's time attribute (RFC 3339, or ""), from
	// which a duration counts.
	Expires, EventTime string
	// expiresAt is a batch item's expiry, resolved when its batch was
	// recorded.
	expiresAt time.Time
	// expiry marks the delete request vpngw makes itself at a gateway's
	// expiry (Expire): the policy allowed the expiry when it allowed the
	// gateway, so no delete permission is asked of it.
	expiry bool
	// Raw is the event as it arrived; a malformed event without source or
	// id is keyed by it, so that two such events are recorded apart.
	Raw []byte
	// item marks an item of a batch, the only request whose id may have
	// the form of events.BatchItemID.
	item bool
	// batch is the key of the batch an item belongs to ("" for a
	// request sent alone).
	batch string

	// turn orders the input's quota decision after those of the earlier
	// inputs of its source in the same delivery (HandleAll sets it).
	turn *turn
	// pend, when set, takes the input's record if it counts against no
	// quota, to be written with the others of the delivery (HandleAll sets
	// it, and at, the input's place).
	pend *pending
	at   int
}

// Result is what became of one request.
type Result struct {
	Source       string              `json:"Source"`
	EventID      string              `json:"Id"`
	Key          string              `json:"Key"`
	State        store.State         `json:"State"`
	VpnGatewayId string              `json:"VpnGatewayId,omitempty"`
	Code         string              `json:"Code,omitempty"`
	Message      string              `json:"Message,omitempty"`
	Errors       []events.FieldError `json:"Errors,omitempty"`
	// Retry is set when the request hit a transient failure and must be
	// delivered again.
	Retry bool `json:"Retry,omitempty"`
}

// AllFailed reports whether every request of a delivery was refused (at
// validation, by the policy or by the API): nothing in it was accepted or is
// still in flight. An HTTP edge answers such a delivery with 400.
func AllFailed(rs []Result) bool {
	if len(rs) == 0 {
		return false
	}
	for _, r := range rs {
		if r.State != store.Failed {
			return false
		}
	}
	return true
}

// Service provisions gateways.
type Service struct {
	store       Store
	cloud       Creator
	now         func() time.Time
	log         *slog.Logger
	concurrency int
	reserve     time.Duration // kept free before the deadline: no API call starts later, a quarter of it records the outcome
	policy      Policy
	faultBound  time.Duration
	deleter     Deleter
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithConcurrency bounds how many requests of one delivery run at once.
func WithConcurrency(n int) Option {
	return func(s *Service) {
		if n > 0 {
			s.concurrency = n
		}
	}
}

// WithPermissionFaultBound sets how long after it was recorded a request
// the API keeps refusing for a permission (Forbidden*, NoPermission) is
// still kept for a retry; after that it fails with the API's code (the
// deployment's VPNGW_PROVISION_TIMEOUT; 30 minutes by default).
func WithPermissionFaultBound(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.faultBound = d
		}
	}
}

// WithPolicy makes every request pass the operator's policy before any API
// call. Without it every valid request is allowed.
func WithPolicy(p Policy) Option { return func(s *Service) { s.policy = p } }

type reserveKey struct{}

// WithDeadlineReserve returns ctx with a reserve of its own: HandleAll and
// Handle keep d, instead of the service's reserve (3 s), free before
// ctx's deadline. An edge whose answer is due sooner than the service's
// reserve, such as a chat command that must be answered within 3 s, sets the
// room one API call and its record need; otherwise no call would ever start.
func WithDeadlineReserve(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, reserveKey{}, d)
}

// reserveFor is the reserve in force for ctx.
func (s *Service) reserveFor(ctx context.Context) time.Duration {
	if d, ok := ctx.Value(reserveKey{}).(time.Duration); ok && d > 0 {
		return d
	}
	return s.reserve
}

// New builds a Service.
func New(st Store, c Creator, opts ...Option) (*Service, error) {
	if st == nil || c == nil {
		return nil, errors.New("provision: store and creator are required")
	}
	s := &Service{store: st, cloud: c, now: time.Now, log: slog.Default(), concurrency: 8, reserve: 3 * time.Second, faultBound: 30 * time.Minute}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// ErrRetry says at least one request of a delivery hit a transient failure,
// or was not reached before the deadline: the delivery must be retried.
// Requests that already have an outcome are not redone on redelivery.
var ErrRetry = errors.New("provision: transient failure, deliver again")

// HandleAll provisions every input (expanding batch requests into their
// items), with bounded concurrency, so that one bad or slow request never
// blocks the others. It first records every request, then creates gateways
// while the deadline leaves room; what it did not reach stays recorded as
// received for the redelivery or the reconcile tick. It returns ErrRetry
// (wrapped with the first cause) when anything must be delivered again.
func (s *Service) HandleAll(ctx context.Context, in []Input) ([]Result, error) {
	hold := s.newBatchHold(ctx)
	flat, results, errs := s.expand(ctx, in, hold)
	type slot struct {
		rec  store.Request
		id   request.Identity
		need bool
	}
	slots := make([]slot, len(flat))
	base := len(results)
	results = append(results, make([]Result, len(flat))...)
	errs = append(errs, make([]error, len(flat))...)
	pend := &pending{}
	var ord *order
	if len(flat) > 1 {
		// One request waits for no other: its turn stays nil.
		ord = newOrder(flat)
	}
	for i := range flat {
		if ord != nil {
			flat[i].turn = ord.turn(i)
		}
		flat[i].pend, flat[i].at = pend, i
	}
	held := s.holdBatches(ctx, flat, hold)
	defer held.release(ctx)
	s.parallel(len(flat), func(i int) {
		var (
			res  Result
			err  error
			need bool
		)
		slots[i].rec, slots[i].id, res, need, err = s.record(ctx, flat[i])
		slots[i].need = need
		results[base+i], errs[base+i] = res, err
	})
	// Every request is recorded before any gateway is created.
	pend.write(s.store)
	s.parallel(len(pend.entries), func(j int) {
		e := pend.entries[j]
		i := e.i
		slots[i].rec, slots[i].id, results[base+i], slots[i].need, errs[base+i] = e.after(e.got, e.created, e.err)
	})
	var deferred atomic.Int64
	s.parallel(len(flat), func(i int) {
		if !slots[i].need {
			return
		}
		if b := flat[i].batch; b != "" && !held.holds(b) {
			// Another invocation (a reconcile tick continuing the batch)
			// holds the batch and creates its items; calling for them
			// here too would spend the API's quota twice.
			results[base+i] = Result{Source: slots[i].id.Source, EventID: slots[i].id.EventID, Key: slots[i].rec.Key,
				State: store.Received, Message: "recorded; its batch is being continued by another invocation"}
			return
		}
		if s.deadlineNear(ctx) {
			deferred.Add(1)
			results[base+i] = notAttempted(slots[i].id, slots[i].rec.Key)
			return
		}
		log := s.log.With("request_key", slots[i].rec.Key, "source", slots[i].id.Source, "event_id", slots[i].id.EventID)
		results[base+i], errs[base+i] = s.create(ctx, log, slots[i].id, slots[i].rec)
	})
	if n := deferred.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("%d requests not attempted before the deadline", n))
	}
	for _, err := range errs {
		if err != nil {
			return results, fmt.Errorf("%w: %w", ErrRetry, err)
		}
	}
	return results, nil
}

// notAttempted is the result of a request whose creation the invocation's
// deadline left for later.
func notAttempted(id request.Identity, key string) Result {
	return Result{Source: id.Source, EventID: id.EventID, Key: key, State: store.Received, Retry: true,
		Message: "not attempted before the invocation's deadline; recorded, and taken up by the redelivery or the reconcile tick"}
}

// parallel runs f(0..n-1) with the service's concurrency. One call (a
// delivery of one request, the common case) runs on the caller's
// goroutine: a goroutine of its own would start on a small stack and grow
// it, copying, on every store call (SQLite's engine runs deep).
func (s *Service) parallel(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	sem := make(chan struct{}, s.concurrency)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// deadlineNear says whether starting another API call would risk the
// invocation's deadline: a call with its retries needs some room, and the
// outcome must still be recorded after it.
func (s *Service) deadlineNear(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < s.reserveFor(ctx)
}

// callContext bounds one API call so that it ends a quarter of the reserve
// before ctx's deadline: a call the API is slow to answer is cut short
// while its failure can still be recorded (and a chat still answered).
func (s *Service) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, dl.Add(-s.reserveFor(ctx)/4))
}

// Handle provisions one request. An error means the request could not be
// settled now and must be delivered again; everything else, including a
// rejection, is a Result.
func (s *Service) Handle(ctx context.Context, in Input) (Result, error) {
	rec, id, res, need, err := s.record(ctx, in)
	if !need || err != nil {
		return res, err
	}
	log := s.log.With("request_key", rec.Key, "source", id.Source, "event_id", id.EventID)
	return s.create(ctx, log, id, rec)
}

// record validates and records one request. need says that the request is
// recorded as received and CreateVpnGateway is to be called for it; otherwise
// res is its outcome (a rejection, or the state of an earlier delivery).
func (s *Service) record(ctx context.Context, in Input) (rec store.Request, id request.Identity, res Result, need bool, err error) {
	// However it ends, the request no longer holds up the later requests of
	// its source in the delivery.
	defer in.turn.decided()
	ctx = actingFor(ctx, in.Caller)
	id = in.Identity
	if id.Source == "" || id.EventID == "" {
		// Without source and id there is no identity to key on. The content
		// is the next best thing: the same malformed event redelivered
		// lands on the same record.
		content := in.Raw
		if content == nil {
			content = in.Data
		}
		sum := sha256.Sum256(content)
		if id.EventID == "" {
			id.EventID = "content-sha256:" + hex.EncodeToString(sum[:8])
		}
	}
	key := id.Key()
	if errs := id.Check(); errs != nil {
		// The store could not keep this identity as sent, so the request
		// cannot be recorded nor announced under its name: it is answered
		// for good, and never asked for again.
		return rec, id, s.unrecordable(ctx, key, id, errs), false, nil
	}
	log := s.log.With("request_key", key, "source", id.Source, "event_id", id.EventID)
	retry := Result{Source: id.Source, EventID: id.EventID, Key: key, Retry: true}

	deleting := in.Type == events.TypeDeleteRequested && in.Err == nil && (in.item || !events.IsBatchItemID(id.EventID))
	var (
		req  events.GatewayRequest
		errs []events.FieldError
		msg  string
	)
	if !deleting {
		req, errs, msg = validate(in, id)
	}
	if deleting || errs != nil {
		// A delete request, or a request refused at validation, is read
		// first: a redelivery of a settled request answers from the
		// record, with no API call. A valid create request, the common
		// case, is not: its record says whether its key was recorded
		// already, and only then is it answered from the record
		// (fromRecord), one read fewer for a request never seen.
		got, gerr := s.store.Get(ctx, key)
		if gerr == nil && otherData(got, in.Data) {
			return got, id, s.conflict(log, id, got), false, nil
		}
		if gerr == nil && got.State != store.Received {
			return got, id, resultOf(id, got), false, nil
		} else if gerr != nil && !errors.Is(gerr, store.ErrNotFound) {
			return rec, id, retry, false, fmt.Errorf("read request %s: %w", key, gerr)
		}
		if deleting {
			// A redelivery of a request left Received: its own record is
			// not counted against its quota.
			return s.recordDelete(ctx, log, in, id, key, gerr == nil, got)
		}
	}
	now := s.now()
	rec = store.Request{
		Key: key, Source: id.Source, EventID: id.EventID, Subject: id.Subject,
		RegionID: req.RegionId, VpcID: req.VpcId, Params: in.Data,
		CreatedAt: now, UpdatedAt: now, TraceParent: in.TraceParent,
		Caller: in.Caller, ChatUser: in.ChatUser, DryRun: in.DryRun, Data: in.Data,
		Origin: encodeOrigin(in.Key, in.Origin),
	}
	if in.Type == events.TypeDeleteRequested {
		rec.Kind = store.KindDelete
	}
	if errs != nil {
		// What failed validation may not fit its column: keep only what
		// does, so that the rejection itself can be recorded.
		rec.RegionID = storable(rec.RegionID, request.MaxRegionIDLength)
		rec.VpcID = storable(rec.VpcID, request.MaxResourceIDLength)
		return s.reject(ctx, log, rec, id, events.StageValidation, events.CodeInvalidRequest, msg, errs)
	}

	// A valid create request was not read before: where its key turns out
	// to be recorded already (a redelivery, or a concurrent delivery of
	// the same id), found answers it from the record, as the read did.
	// Nothing is written for it then: every write below records only a
	// key not recorded yet.
	found := func(got store.Request) (store.Request, request.Identity, Result, bool, error) {
		return s.fromRecord(ctx, log, in, id, got)
	}
	expiresAt, eerr := s.expiry(in, now)
	if eerr != nil {
		return s.rejectOr(ctx, log, found, rec, id, events.StageValidation, events.CodeInvalidRequest, eerr.Error(),
			[]events.FieldError{{Field: request.ExpiresExtension, Value: truncate(in.Expires, 200), Allowed: request.ExpiresAllowed, Message: eerr.Error()}})
	}
	rec.ExpiresAt = expiresAt
	who := policy.Requester{Source: id.Source, Caller: in.Caller, Key: in.Key, ChatUser: in.ChatUser, Origin: in.Origin}
	principal := ""
	if who.Caller != "" {
		principal = who.Principal()
	}
	rec.ClientToken = request.ClientToken(id, principal, req)
	var (
		dryRun   bool
		decision policy.Decision
	)
	if s.policy != nil {
		var derr error
		decision, derr = s.policy.Decide(who, req)
		if derr != nil {
			if got, ok := s.recordedBefore(ctx, key, found); ok {
				return found(got)
			}
			return rec, id, retry, false, fmt.Errorf("decide policy for %s: %w", key, derr)
		}
		// The matched rule's routing: every outcome of the request, a
		// denial too, goes to its sinks.
		rec.Sinks = decision.Sinks
		var lifetime time.Duration
		if !expiresAt.IsZero() {
			lifetime = expiresAt.Sub(now)
		}
		if decision = decision.CheckLifetime(who, lifetime); !decision.Allowed {
			return s.rejectOr(ctx, log, found, rec, id, events.StagePolicy, events.CodePolicyDenied, decision.Message, decision.Violations)
		}
		rec.Note.Reason = allowedBy(decision)
		req.Tags = append(req.Tags, decision.AddTags...)
		dryRun = decision.DryRun
	}
	// The rule's quota is counted as the request is recorded, in one step
	// of the store, so that concurrent requests (the items of one delivery,
	// deliveries on other instances) each count the others.
	quota := quotaOf(decision, now)
	if !quota.Zero() {
		// A request under a quota is still read first: its record is a
		// transaction that holds its source's quota lock (InsertWithin),
		// which a redelivery (the items of a batch delivered again) would
		// otherwise take, one item after another, where a read answers.
		got, gerr := s.store.Get(ctx, key)
		if gerr == nil {
			return found(got)
		}
		if !errors.Is(gerr, store.ErrNotFound) {
			return rec, id, retry, false, fmt.Errorf("read request %s: %w", key, gerr)
		}
		in.turn.wait()
		if in.pend != nil {
			// The earlier requests of the source are counted recorded.
			in.pend.write(s.store)
		}
	}
	// overQuota answers a refused record: over the quota, or a value the
	// store cannot keep (answered, never retried); anything else is retried.
	overQuota := func(err error) (store.Request, request.Identity, Result, bool, error) {
		var qe *store.QuotaError
		if !errors.As(err, &qe) {
			// A record refused, or not taken, may be one the store holds
			// already (a backend may refuse a value before it finds the
			// key taken): that record answers, as the read did.
			if got, ok := s.recordedBefore(ctx, key, found); ok {
				return found(got)
			}
		}
		switch {
		case errors.Is(err, store.ErrInvalidValue):
			// The same write fails on every delivery: the refusal is
			// recorded instead, without the values it does not need, so
			// that it is announced and a batch counts the item failed.
			// The store's own words (which name where the store is) are
			// for the operator's log, not for the requester.
			log.ErrorContext(ctx, "request refused: the store cannot keep a value of it", "err", err)
			return s.rejectOr(ctx, log, found, refusalRecord(rec), id, events.StageValidation, events.CodeInvalidRequest,
				refusedMessage, []events.FieldError{refusedField})
		case !errors.As(err, &qe):
			// Said in the request's own answer too: in a batch, which of
			// its items is to be delivered again. Why is in the error the
			// invocation returns (the operator's log): a store's error
			// names where the store is, which a requester is not told.
			r := retry
			r.Message = "not recorded, deliver again: the store did not take the record (the function's log says why)"
			return rec, id, r, false, fmt.Errorf("record request %s: %w", key, err)
		}
		d := decision.OverQuota(who, policy.Usage{PerDay: qe.PerDay, Pending: qe.Pending})
		return s.rejectOr(ctx, log, found, rec, id, events.StagePolicy, events.CodePolicyDenied, d.Message, d.Violations)
	}
	// Every gateway carries who asked for it, so it can be traced back to
	// its ticket from the console.
	identity := policy.IdentityTags(id.Source, id.EventID, who.Principal())
	if req.ClientToken != "" {
		// The requester's retries (new events) carry its token: the tags
		// must not differ between them (see policy.TokenIdentityTags).
		identity = policy.TokenIdentityTags(id.Source, req.ClientToken, who.Principal())
	}
	if !expiresAt.IsZero() {
		identity = append(identity, events.Tag{Key: policy.TagExpires, Value: expiresAt.UTC().Format(time.RFC3339)})
	}
	if n := len(req.Tags) + len(identity); n > request.MaxTags {
		msg := fmt.Sprintf("the gateway would carry %d tags with the %d that name its request, over the API's limit of %d", n, len(identity), request.MaxTags)
		return s.rejectOr(ctx, log, found, rec, id, events.StageValidation, events.CodeInvalidRequest, msg,
			[]events.FieldError{{Field: "Tags", Value: strconv.Itoa(len(req.Tags)), Allowed: fmt.Sprintf("at most %d", request.MaxTags-len(identity)), Message: msg}})
	}
	req.Tags = append(req.Tags, identity...)
	// The request is recorded as it will be sent, tags included, so that a
	// retry or a redrive after a policy change sends the same parameters
	// with the same ClientToken.
	params, merr := json.Marshal(req)
	if merr != nil {
		if got, ok := s.recordedBefore(ctx, key, found); ok {
			return found(got)
		}
		return rec, id, Result{}, false, merr
	}
	rec.Params = params
	if dryRun || in.DryRun {
		// A dry run answers as the real request would be answered, quota
		// included, and its record counts against nothing.
		got, created, res, derr := s.dryRun(ctx, log, rec, id, req, quota)
		in.turn.decided()
		if derr != nil {
			return overQuota(derr)
		}
		if !created {
			return found(got)
		}
		return got, id, res, false, nil
	}
	rec.State = store.Received
	if rec.Note.Reason == "" {
		rec.Note.Reason = "recorded"
	}
	after := func(got store.Request, created bool, ierr error) (store.Request, request.Identity, Result, bool, error) {
		if ierr != nil {
			return overQuota(ierr)
		}
		if !created {
			// Recorded before: by an earlier delivery, or a concurrent
			// one of the same id.
			return found(got)
		}
		return got, id, Result{}, true, nil
	}
	if quota.Zero() && in.pend != nil {
		// Written with the delivery's other records; after answers then.
		in.pend.add(&pendingRecord{i: in.at, ctx: ctx, rec: rec, after: after})
		return rec, id, Result{}, false, nil
	}
	got, created, ierr := s.store.InsertWithin(ctx, rec, nil, quota)
	in.turn.decided()
	return after(got, created, ierr)
}

// fromRecord answers a valid create request whose key is recorded
// already: a redelivery, or a concurrent delivery of the same id. Other
// data under the id is a conflict; a settled request is answered as it
// stands. One left Received by an earlier delivery (that crashed or failed
// transiently) is created again with its recorded ClientToken, so the API
// answers with the gateway it may already have made: what is sent is the
// record, so it is the record that is decided, as its recorded requester
// on its recorded data, and a delivery that differs from it (another
// sender, another dry-run flag) is answered from the record and changes
// nothing.
func (s *Service) fromRecord(ctx context.Context, log *slog.Logger, in Input, id request.Identity, got store.Request) (store.Request, request.Identity, Result, bool, error) {
	if otherData(got, in.Data) {
		return got, id, s.conflict(log, id, got), false, nil
	}
	if got.State != store.Received {
		return got, id, resultOf(id, got), false, nil
	}
	if !sameDelivery(got, in) {
		log.WarnContext(ctx, "delivery answered from the record: its id is already used by a request with other data or from another sender", "state", got.State)
		return got, id, otherDelivery(id, got), false, nil
	}
	if res, settled, derr := s.redecide(ctx, log, id, got); settled || derr != nil {
		return got, id, res, false, derr
	}
	return got, id, Result{}, true, nil
}

// recordedFound answers a request from its record, where its key turns
// out to be recorded already; nil where the request was read before it was
// decided.
type recordedFound func(got store.Request) (store.Request, request.Identity, Result, bool, error)

// recordedBefore reads the record of key for a request that was not read
// before it was decided (found is not nil), when deciding or recording it
// failed: a request recorded already is answered from its record, as the
// read would have answered it, rather than with the failure.
func (s *Service) recordedBefore(ctx context.Context, key string, found recordedFound) (store.Request, bool) {
	if found == nil {
		return store.Request{}, false
	}
	got, err := s.store.Get(ctx, key)
	return got, err == nil
}

// validate checks a create request as it arrived: its id, its envelope,
// its type and its data. errs and msg say what is wrong (nil errs: the
// request is valid, req its data).
func validate(in Input, id request.Identity) (req events.GatewayRequest, errs []events.FieldError, msg string) {
	switch {
	case !in.item && events.IsBatchItemID(id.EventID):
		msg = fmt.Sprintf("event id ends in %q, the form vpngw gives the items of a batch (<batch event id>/item-<4 digits>); choose an id that does not", id.EventID[len(id.EventID)-len("/item-0000"):])
		errs = []events.FieldError{{Field: "id", Value: truncate(id.EventID, 200), Allowed: "any id that does not end in /item- and 4 digits", Message: msg}}
	case in.Err != nil:
		msg = in.Err.Error()
		var ee *request.EventError
		var be *batchError
		switch {
		case errors.As(in.Err, &ee):
			errs = ee.Problems
		case errors.As(in.Err, &be):
			// A batch refused as one request names what is wrong with it
			// (Requests, vpngwexpires), not just "event".
			errs = be.FieldErrors()
		}
		if len(errs) == 0 {
			errs = []events.FieldError{{Field: "event", Message: msg}}
		}
	case in.Type != events.TypeRequested:
		msg = fmt.Sprintf("event type %q is not handled here", in.Type)
		errs = []events.FieldError{{Field: "type", Value: in.Type, Allowed: events.TypeRequested + ", " + events.TypeBatchRequested + ", " + events.TypeDeleteRequested, Message: msg}}
	default:
		var perr error
		req, perr = request.Parse(in.Data)
		var verr *request.Error
		if errors.As(perr, &verr) {
			errs = verr.Errors
			msg = verr.Error()
		} else if perr != nil {
			errs = []events.FieldError{{Field: "data", Message: perr.Error()}}
			msg = perr.Error()
		}
	}
	return req, errs, msg
}

// Redrive re-attempts CreateVpnGateway for a request left Received (its
// deliveries stopped before it was settled). The request is first decided
// again, as its recorded requester, under the policy in force now: one the
// policy now denies fails PolicyDenied, and one it now makes a dry run is
// answered as a dry run; neither is created. An allowed request is sent as
// it was recorded, tags included, so that it keeps its ClientToken's
// parameters. It is safe to run beside a delivery of the same request: both
// send the same ClientToken.
func (s *Service) Redrive(ctx context.Context, rec store.Request) (Result, error) {
	id := request.Identity{Source: rec.Source, EventID: rec.EventID, Subject: rec.Subject}
	log := s.log.With("request_key", rec.Key, "source", rec.Source, "event_id", rec.EventID, "redrive", true)
	if store.ActorFrom(ctx) == "" {
		// Re-drives are the reconcile tick's unless the caller says whose.
		ctx = store.WithActor(ctx, store.ActorReconcile)
	}
	if rec.Kind == store.KindDelete {
		if res, settled, err := s.redecideDelete(ctx, log, id, rec); settled || err != nil {
			return res, err
		}
		return s.deleteGateway(ctx, log, id, rec)
	}
	if s.policy != nil || rec.DryRun {
		if res, settled, err := s.redecide(ctx, log, id, rec); settled || err != nil {
			return res, err
		}
	}
	return s.create(ctx, log, id, rec)
}

// redecide decides a recorded request again before a re-drive. settled
// says that it was answered here (denied, or a dry run) and is not to be
// created.
func (s *Service) redecide(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request) (Result, bool, error) {
	retry := Result{Source: id.Source, EventID: id.EventID, Key: rec.Key, State: store.Received, Retry: true}
	var sent events.GatewayRequest
	if err := json.Unmarshal(rec.Params, &sent); err != nil {
		return retry, true, fmt.Errorf("decode recorded request %s: %w", rec.Key, err)
	}
	dryRun := rec.DryRun
	why := "dry run asked by the request"
	if s.policy != nil {
		if rec.Data == nil {
			// Recorded before the request's data was kept: it was decided
			// when it was recorded, and cannot be decided again.
			log.WarnContext(ctx, "re-driven without a new policy decision: the request was recorded before vpngw kept what it asked for")
		} else {
			asked, perr := request.Parse(rec.Data)
			var verr *request.Error
			switch {
			case errors.As(perr, &verr):
				res, err := s.settle(ctx, log, id, rec, events.StageValidation, events.CodeInvalidRequest, verr.Error(), verr.Errors)
				return res, true, err
			case perr != nil:
				res, err := s.settle(ctx, log, id, rec, events.StageValidation, events.CodeInvalidRequest, perr.Error(),
					[]events.FieldError{{Field: "data", Message: perr.Error()}})
				return res, true, err
			}
			who := recordedRequester(rec)
			d, derr := s.policy.Decide(who, asked)
			if derr != nil {
				return retry, true, fmt.Errorf("decide policy for %s: %w", rec.Key, derr)
			}
			// The request's own record (Received) is not counted against
			// its quota.
			if d, derr = s.requota(ctx, rec.Key, who, d, s.now()); derr != nil {
				return retry, true, derr
			}
			if !d.Allowed {
				res, err := s.settle(ctx, log, id, rec, events.StagePolicy, events.CodePolicyDenied, d.Message, d.Violations)
				return res, true, err
			}
			dryRun = dryRun || d.DryRun
			why = "dry run: " + allowedBy(d)
		}
	}
	if !dryRun {
		return Result{}, false, nil
	}
	now := s.now()
	ev, err := s.event(events.TypeValidated, rec.Key, "", rec.TraceParent, now, events.Validated{
		Request: id.Ref(), Parameters: request.Normalize(sent), ClientToken: rec.ClientToken, WouldCreate: true,
	})
	if err != nil {
		return retry, true, err
	}
	got, err := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.DryRun, "", store.Change{Note: store.Note{Reason: why}}, ev)
	if err != nil {
		res, serr := s.settledElsewhere(ctx, id, rec.Key, err)
		return res, true, serr
	}
	log.InfoContext(ctx, "re-drive decided as a dry run", "would_create", true)
	return resultOf(id, got), true, nil
}

// refused is the failed event of a request refused before any API call: a
// list of problems cut short at request.MaxFieldErrors is counted in
// ErrorsOmitted, not listed as one more error.
func refused(id request.Identity, stage, code, msg string, errs []events.FieldError, region string) events.Failed {
	errs, omitted := request.SplitOmitted(errs)
	return events.Failed{
		Request: id.Ref(), Stage: stage, Code: code, Message: msg, Errors: errs, ErrorsOmitted: omitted, RegionId: region,
	}
}

// settle fails a recorded request before any API call, with its failed
// event, in one store operation.
func (s *Service) settle(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request, stage, code, msg string, errs []events.FieldError) (Result, error) {
	ev, err := s.event(events.TypeFailed, rec.Key, "", rec.TraceParent, s.now(), refused(id, stage, code, msg, errs, rec.RegionID))
	if err != nil {
		return Result{}, err
	}
	got, err := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Failed, "",
		store.Change{LastError: truncate(code+": "+msg, 1000)}, ev)
	if err != nil {
		return s.settledElsewhere(ctx, id, rec.Key, err)
	}
	log.InfoContext(ctx, "re-drive refused", "stage", stage, "code", code, "errors", len(errs))
	res := resultOf(id, got)
	res.Code, res.Errors = code, errs
	return res, nil
}

func (s *Service) create(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request) (Result, error) {
	if rec.Kind == store.KindDelete {
		return s.deleteGateway(ctx, log, id, rec)
	}
	ctx = actingFor(ctx, rec.Caller)
	req, err := decodeParams(rec.Params)
	if err != nil {
		return Result{}, fmt.Errorf("decode recorded request %s: %w", rec.Key, err)
	}
	callCtx, cancel := s.callContext(ctx)
	res, err := s.cloud.Create(callCtx, req, rec.ClientToken)
	cancel()
	now := s.now()
	if err != nil {
		if notSent(err) {
			// The rate limit had no start for the call before the
			// deadline: nothing reached the API. The request stays as
			// it was, unattempted, so that whoever continues its batch
			// takes it up at once.
			log.InfoContext(ctx, "create not sent before the deadline", "err", err)
			return notAttempted(id, rec.Key), fmt.Errorf("create gateway for %s: %w", rec.Key, err)
		}
		var op OperatorFault
		if errors.As(err, &op) && op.OperatorFix() != "" {
			return s.operatorFault(ctx, log, id, rec, op, err)
		}
		var api APIError
		if errors.As(err, &api) && !api.Retryable() {
			ev, eerr := s.event(events.TypeFailed, rec.Key, "", rec.TraceParent, now, events.Failed{
				Request: id.Ref(), Stage: events.StageCreate, Code: api.APICode(), Message: api.APIMessage(),
				RequestId: api.APIRequestID(), RegionId: req.RegionId,
			})
			if eerr != nil {
				return Result{}, eerr
			}
			got, terr := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Failed, "",
				store.Change{AddAttempt: true, LastError: truncate(api.APICode()+": "+api.APIMessage(), 1000)}, ev)
			if terr != nil {
				return s.settledElsewhere(ctx, id, rec.Key, terr)
			}
			log.WarnContext(ctx, "create refused", "code", api.APICode(), "api_request_id", api.APIRequestID())
			res := resultOf(id, got)
			res.Code = api.APICode()
			return res, nil
		}
		// Transient: keep the record (with the reason) and hand the failure
		// back, so the platform delivers the event again.
		if _, terr := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Received, "",
			store.Change{AddAttempt: true, LastError: truncate(err.Error(), 1000), Note: transientNote(err)}, nil); terr != nil && !errors.Is(terr, store.ErrConflict) {
			log.ErrorContext(ctx, "record transient failure", "err", terr)
		}
		log.WarnContext(ctx, "create failed, will retry", "err", err)
		return Result{Source: id.Source, EventID: id.EventID, Key: rec.Key, State: store.Received, Retry: true, Message: err.Error()},
			fmt.Errorf("create gateway for %s: %w", rec.Key, err)
	}
	ev, err := s.event(events.TypeAccepted, rec.Key, res.GatewayID, rec.TraceParent, now, events.Accepted{
		Request: id.Ref(), VpnGatewayId: res.GatewayID, OrderId: res.OrderID, RegionId: req.RegionId,
		VpcId: req.VpcId, Name: res.Name, ClientToken: rec.ClientToken, RequestId: res.RequestID,
	})
	if err != nil {
		return Result{}, err
	}
	got, err := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Pending, "",
		store.Change{GatewayID: res.GatewayID, OrderID: res.OrderID, AcceptedAt: now, AddAttempt: true,
			Note: store.Note{Reason: truncate(fmt.Sprintf("CreateVpnGateway accepted: order %d, API request %s", res.OrderID, res.RequestID), store.MaxReason)}}, ev)
	if err != nil {
		return s.settledElsewhere(ctx, id, rec.Key, err)
	}
	log.InfoContext(ctx, "gateway accepted", "gateway_id", res.GatewayID, "order_id", res.OrderID)
	return resultOf(id, got), nil
}

// OperatorFault is how a Creator's failure says that the operator, not the
// requester, must act (credentials or permissions the API refused):
// OperatorFix says what to change, "" when the failure is not of that kind.
type OperatorFault interface {
	error
	APICode() string
	OperatorFix() string
}

// operatorFault keeps a request the API refused for the operator's reasons
// (a rotated key, a missing RAM grant) recorded and unsettled, says at error
// level what to fix, and hands the failure back so that the platform
// delivers the event again; once the credentials are right, that delivery or
// a reconcile re-drive creates the gateway with the same ClientToken. The
// requester is not told it failed: nothing was wrong with the request.
//
// A permission refusal may be the request's own (a RAM policy scoped to one
// resource group, a request naming another), and then no fix of the
// operator's may come: once the request is older than the fault bound it
// fails with the API's code, announced once, naming the fix. A credential
// refusal (key, secret, token) is the account's and never the request's:
// it is kept however long it lasts.
func (s *Service) operatorFault(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request, op OperatorFault, err error) (Result, error) {
	fix := op.OperatorFix()
	if permissionCode(op.APICode()) && s.now().Sub(rec.CreatedAt) >= s.faultBound {
		return s.permissionFailed(ctx, log, id, rec, op, fix, err)
	}
	reason := truncate(op.APICode()+": "+CredentialsRefused+": "+fix, 1000)
	if _, terr := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Received, "",
		store.Change{AddAttempt: true, LastError: reason}, nil); terr != nil && !errors.Is(terr, store.ErrConflict) {
		log.ErrorContext(ctx, "record operator fault", "err", terr)
	}
	log.ErrorContext(ctx, "the cloud API refused vpngw's credentials; the request is kept and retried once they are fixed",
		"code", op.APICode(), "fix", fix)
	return Result{Source: id.Source, EventID: id.EventID, Key: rec.Key, State: store.Received, Retry: true, Code: op.APICode(),
			Message: "kept for a retry: " + reason},
		fmt.Errorf("create gateway for %s: %w", rec.Key, err)
}

// CredentialsRefused is in the history's reason of every attempt the API
// refused for the operator's credentials or permissions: an attempt that
// created nothing, which is what lets an operator cancel such a request.
const CredentialsRefused = "the cloud account refused the operator's credentials"

// Cancel settles a request left Received as failed at an operator's word,
// with its failed event (Stage create, Code Cancelled, the reason as its
// message), so that its requester learns it will not be created. The
// caller makes sure nothing was created for it (no attempt, or only
// attempts the API refused, see CredentialsRefused); the store moves it
// only from Received, so a request a concurrent delivery or re-drive
// settled is not touched (store.ErrConflict). The history records the
// actor of ctx (the operator) and the reason.
func (s *Service) Cancel(ctx context.Context, rec store.Request, reason string) (Result, error) {
	id := request.Identity{Source: rec.Source, EventID: rec.EventID, Subject: rec.Subject}
	msg := "cancelled by the operator: " + reason
	ev, err := s.event(events.TypeFailed, rec.Key, "", rec.TraceParent, s.now(), refused(id, events.StageCreate, events.CodeCancelled, msg, nil, rec.RegionID))
	if err != nil {
		return Result{}, err
	}
	got, err := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Failed, "",
		store.Change{LastError: truncate(events.CodeCancelled+": "+msg, 1000), Note: store.Note{Reason: truncate(msg, store.MaxReason)}}, ev)
	if err != nil {
		return Result{}, err
	}
	s.log.InfoContext(ctx, "request cancelled", "request_key", rec.Key, "actor", store.ActorFrom(ctx), "reason", reason)
	res := resultOf(id, got)
	res.Code = events.CodeCancelled
	return res, nil
}

// permissionCode says that code is a permission refusal, which may be
// about what one request asks for, rather than a credential refusal.
func permissionCode(code string) bool {
	return code == "Forbidden" || strings.HasPrefix(code, "Forbidden.") ||
		code == "NoPermission" || strings.HasPrefix(code, "NoPermission.") || code == "ActionUnauthorized"
}

// permissionFailed fails a request the API refused for a permission for
// longer than the fault bound.
func (s *Service) permissionFailed(ctx context.Context, log *slog.Logger, id request.Identity, rec store.Request, op OperatorFault, fix string, err error) (Result, error) {
	var req events.GatewayRequest
	_ = json.Unmarshal(rec.Params, &req)
	msg := fmt.Sprintf("the cloud API refused this request for a permission (%s) for %s since it was recorded; the operator must act: %s, or the request must ask for what the RAM identity may do",
		op.APICode(), s.faultBound, fix)
	f := events.Failed{Request: id.Ref(), Stage: events.StageCreate, Code: op.APICode(), Message: msg, RegionId: req.RegionId}
	var api APIError
	if errors.As(err, &api) {
		f.RequestId = api.APIRequestID()
	}
	ev, eerr := s.event(events.TypeFailed, rec.Key, "", rec.TraceParent, s.now(), f)
	if eerr != nil {
		return Result{}, eerr
	}
	got, terr := s.store.Transition(ctx, rec.Key, []store.State{store.Received}, store.Failed, "",
		store.Change{AddAttempt: true, LastError: truncate(op.APICode()+": "+msg, 1000)}, ev)
	if terr != nil {
		return s.settledElsewhere(ctx, id, rec.Key, terr)
	}
	log.ErrorContext(ctx, "request failed: the cloud API kept refusing it for a permission", "code", op.APICode(), "fix", fix, "bound", s.faultBound)
	res := resultOf(id, got)
	res.Code = op.APICode()
	return res, nil
}

// settledElsewhere handles a Transition that lost a race: a concurrent
// delivery already settled the request, which is success.
func (s *Service) settledElsewhere(ctx context.Context, id request.Identity, key string, err error) (Result, error) {
	if !errors.Is(err, store.ErrConflict) {
		return Result{Source: id.Source, EventID: id.EventID, Key: key, Retry: true}, fmt.Errorf("record outcome of %s: %w", key, err)
	}
	got, gerr := s.store.Get(ctx, key)
	if gerr != nil {
		return Result{Source: id.Source, EventID: id.EventID, Key: key, Retry: true}, fmt.Errorf("read request %s: %w", key, gerr)
	}
	return resultOf(id, got), nil
}

func (s *Service) event(typ, key, subject, traceParent string, now time.Time, data any) ([]store.Event, error) {
	e, err := outcome.New(typ, outcome.Meta{RequestKey: key, Subject: subject, TraceParent: traceParent, Time: now}, data)
	if err != nil {
		return nil, err
	}
	return []store.Event{{RequestKey: key, Event: e, CreatedAt: now}}, nil
}

// CodeIDConflict is a Result's code for a request sent under an id already
// used for a request with other data. It is an answer to the sender only: no
// event announces it, as the first request's outcome stands.
const CodeIDConflict = "IdConflict"

// otherData reports whether data, a delivery's request data, differs from
// what the record of its id was first recorded with: the same JSON value
// (keys in any order, any spacing) is the same data. A record kept without
// its data (recorded before it was kept) differs from nothing.
func otherData(rec store.Request, data []byte) bool {
	if rec.Data == nil || rec.State == store.Batch || bytes.Equal(rec.Data, data) {
		return false
	}
	var a, b any
	da, db := json.NewDecoder(bytes.NewReader(rec.Data)), json.NewDecoder(bytes.NewReader(data))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&a) != nil || db.Decode(&b) != nil {
		return true
	}
	return !reflect.DeepEqual(a, b)
}

// conflict answers a request whose id was first used for a request with
// other data. A corrected request re-sent under the old id would otherwise
// get the old outcome with no hint. Nothing is recorded and no event is
// published: the first request's outcome stands.
func (s *Service) conflict(log *slog.Logger, id request.Identity, first store.Request) Result {
	at := first.CreatedAt.UTC().Format(time.RFC3339)
	outcome := string(first.State)
	if first.GatewayID != "" {
		outcome += " (" + first.GatewayID + ")"
	}
	msg := fmt.Sprintf("id %q of source %q was first used at %s for a request with other data, which stands (%s); a request under an id already used is that request, not a new one: send the corrected request with a new id",
		truncate(id.EventID, 200), truncate(id.Source, 200), at, outcome)
	log.Warn("request id already used for other data; answered as a conflict, nothing recorded", "first_used_at", at, "first_state", first.State)
	return Result{Source: id.Source, EventID: id.EventID, Key: first.Key, State: store.Failed, Code: CodeIDConflict, Message: msg}
}

// Conflicted reports whether any result is an IdConflict: an HTTP edge
// answers a delivery that failed whole, with one, 409.
func Conflicted(rs []Result) bool {
	for _, r := range rs {
		if r.Code == CodeIDConflict {
			return true
		}
	}
	return false
}

// otherDelivery answers a delivery under the id of the recorded request r
// that is not r (other data, another sender): r's result, saying nothing
// was changed.
func otherDelivery(id request.Identity, r store.Request) Result {
	res := resultOf(id, r)
	res.Message = "the id is already used by a request with other data or from another sender; that request's record is answered and nothing was changed: send a new id"
	return res
}

func resultOf(id request.Identity, r store.Request) Result {
	res := Result{Source: id.Source, EventID: id.EventID, Key: r.Key, State: r.State, VpnGatewayId: r.GatewayID}
	if r.State == store.Failed || r.State == store.Received {
		res.Message = r.LastError
	}
	if r.State == store.Failed {
		res.Code = recordedCode(r.LastError)
	}
	return res
}

// recordedCode is the code a failed record's error begins with: a failure
// is recorded as "<code>: <message>", the code vpngw's (PolicyDenied,
// InvalidRequest, ...) or the API's (a dotted name), so that a request
// answered again from its record carries the code of its first answer.
// Text in no such form has no code.
func recordedCode(lastError string) string {
	code, _, ok := strings.Cut(lastError, ": ")
	if !ok || code == "" || len(code) > 128 {
		return ""
	}
	for _, c := range code {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ""
		}
	}
	return code
}

// truncate makes s fit a text column of n bytes: cut at a character
// boundary, valid UTF-8, and without NUL, which PostgreSQL refuses in text
// (a message can repeat a member name with one in it).
func truncate(s string, n int) string {
	return textcut.Cut(strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\ufffd"), "\ufffd"), n)
}

// storable is s when it fits a column of max characters and holds nothing
// a store refuses, and "" otherwise.
func storable(s string, max int) string {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max || strings.ContainsFunc(s, unicode.IsControl) {
		return ""
	}
	return s
}

// unrecordable answers a request whose identity the store cannot keep
// (request.Identity.Check): failed, with the reasons, not recorded, and not
// to be retried. The log line and the answer repeat the identity clipped.
func (s *Service) unrecordable(ctx context.Context, key string, id request.Identity, errs []events.FieldError) Result {
	msgs := make([]string, len(errs))
	for i, fe := range errs {
		msgs[i] = fe.Message
	}
	msg := "the request cannot be recorded as sent: " + strings.Join(msgs, "; ")
	src, eid := clipIdentity(id.Source), clipIdentity(id.EventID)
	s.log.WarnContext(ctx, "request refused unrecorded", "request_key", key, "source", src, "event_id", eid, "reason", msg)
	return Result{Source: src, EventID: eid, Key: key, State: store.Failed, Code: events.CodeInvalidRequest, Message: msg, Errors: errs}
}

// refusedByStore answers a request the store refused to record as sent
// (store.ErrInvalidValue) although it passed validation: the same write
// would fail on every delivery, so the request is answered failed for good,
// and the error-level log line is for the operator, since validation and
// the store's columns should agree.
func (s *Service) refusedByStore(ctx context.Context, key string, id request.Identity, err error) Result {
	src, eid := clipIdentity(id.Source), clipIdentity(id.EventID)
	s.log.ErrorContext(ctx, "request refused unrecorded: the store cannot keep a value of it", "request_key", key, "source", src, "event_id", eid, "err", err)
	return Result{Source: src, EventID: eid, Key: key, State: store.Failed, Code: events.CodeInvalidRequest, Message: refusedMessage,
		Errors: []events.FieldError{refusedField}}
}

// refusedMessage says that the store refused a value of a request for
// good (store.ErrInvalidValue). The store's own words name the value but
// also where the store is: they go to the operator's log only.
const refusedMessage = "the request cannot be recorded as sent: the store refused one of its values, one the database cannot keep (the function's log has the database's words)"

var refusedField = events.FieldError{Field: "event", Allowed: "values the store keeps whole", Message: refusedMessage}

// refusalRecord is rec reduced to what the record of its refusal needs:
// its identity and requester (which the store kept for the request's
// batch, or checked with request.Identity.Check) and the data as sent,
// without the values taken from the data into columns of their own, one of
// which the store refused. The refused request is then recorded failed
// and announced, and a redelivery or a batch's tick finds it settled.
func refusalRecord(rec store.Request) store.Request {
	out := rec
	out.RegionID, out.VpcID, out.ClientToken, out.Note = "", "", "", store.Note{}
	out.Params = rec.Data
	out.ExpiresAt = time.Time{}
	return out
}

// clipIdentity shortens an identity attribute for an answer or a log line,
// quoting what does not show.
func clipIdentity(v string) string {
	q := strconv.QuoteToASCII(v)
	q = q[1 : len(q)-1]
	if len(q) > 200 {
		q = q[:200] + "…"
	}
	return q
}

// reject records a request refused before any API call, with its failed
// event, in one store operation.
func (s *Service) reject(ctx context.Context, log *slog.Logger, rec store.Request, id request.Identity, stage, code, msg string, errs []events.FieldError) (store.Request, request.Identity, Result, bool, error) {
	return s.rejectOr(ctx, log, nil, rec, id, stage, code, msg, errs)
}

// rejectOr is reject for a request that was not read before it was
// decided: where its key turns out to be recorded already, found answers
// it from the record (and nothing is written).
func (s *Service) rejectOr(ctx context.Context, log *slog.Logger, found recordedFound, rec store.Request, id request.Identity, stage, code, msg string, errs []events.FieldError) (store.Request, request.Identity, Result, bool, error) {
	rec.State = store.Failed
	rec.LastError = truncate(code+": "+msg, 1000)
	rec.Note.Reason = "" // the history says why it failed: LastError
	ev, err := s.event(events.TypeFailed, rec.Key, "", rec.TraceParent, rec.CreatedAt, refused(id, stage, code, msg, errs, rec.RegionID))
	if err != nil {
		if got, ok := s.recordedBefore(ctx, rec.Key, found); ok {
			return found(got)
		}
		return rec, id, Result{}, false, err
	}
	got, created, err := s.store.Insert(ctx, rec, ev)
	if err != nil {
		if got, ok := s.recordedBefore(ctx, rec.Key, found); ok {
			return found(got)
		}
	}
	if errors.Is(err, store.ErrInvalidValue) {
		res := s.refusedByStore(ctx, rec.Key, id, err)
		if !slices.Contains(errs, res.Errors[0]) {
			// A refusal of the store's own (the record of an earlier
			// refusal) is named once.
			res.Errors = append(errs[:len(errs):len(errs)], res.Errors...)
		}
		return rec, id, res, false, nil
	}
	if err != nil {
		return rec, id, Result{Source: id.Source, EventID: id.EventID, Key: rec.Key, Retry: true}, false, fmt.Errorf("record rejected request %s: %w", rec.Key, err)
	}
	if !created {
		if found != nil {
			return found(got)
		}
		// Another delivery recorded the request first (a quota slot freed
		// between this refusal and its record): the record answers.
		return got, id, resultOf(id, got), false, nil
	}
	log.InfoContext(ctx, "request rejected", "stage", stage, "code", code, "errors", len(errs))
	res := resultOf(id, got)
	res.Code, res.Errors = code, errs
	return got, id, res, false, nil
}

// dryRun records a dry run and says, with io.vpngw.gateway.validated, what a
// real run would have asked the API for. A *store.QuotaError says a real run
// would have been refused by the quota: nothing is recorded then.
// created is false when the key was recorded already: nothing is
// written then, and got is that record.
func (s *Service) dryRun(ctx context.Context, log *slog.Logger, rec store.Request, id request.Identity, req events.GatewayRequest, q store.Quota) (got store.Request, created bool, res Result, err error) {
	rec.State = store.DryRun
	if rec.Note.Reason != "" {
		rec.Note.Reason = "dry run: " + rec.Note.Reason
	} else {
		rec.Note.Reason = "dry run asked by the request"
	}
	ev, err := s.event(events.TypeValidated, rec.Key, "", rec.TraceParent, rec.CreatedAt, events.Validated{
		Request: id.Ref(), Parameters: request.Normalize(req), ClientToken: rec.ClientToken, WouldCreate: true,
	})
	if err != nil {
		return rec, false, Result{}, err
	}
	got, created, err = s.store.InsertWithin(ctx, rec, ev, q)
	if err != nil {
		return rec, false, Result{}, err
	}
	if !created {
		return got, false, resultOf(id, got), nil
	}
	log.InfoContext(ctx, "dry run decided", "would_create", true)
	return got, true, resultOf(id, got), nil
}

// quotaOf is the store's form of the decision's quota at now.
func quotaOf(d policy.Decision, now time.Time) store.Quota {
	q := store.Quota{PerDay: d.Quota.PerDay, Pending: d.Quota.Pending}
	if q.PerDay > 0 {
		q.Since = now.Add(-policy.QuotaWindow)
	}
	return q
}

// requota applies an allowing decision's quota to a request already
// recorded as Received (a redelivery or a re-drive), leaving the request's
// own record out of the count: a quota the operator lowered since denies it.
func (s *Service) requota(ctx context.Context, key string, who policy.Requester, d policy.Decision, now time.Time) (policy.Decision, error) {
	q := quotaOf(d, now)
	if !d.Allowed || q.Zero() {
		return d, nil
	}
	err := s.store.CheckQuota(ctx, key, q)
	var qe *store.QuotaError
	switch {
	case err == nil:
		return d, nil
	case errors.As(err, &qe):
		return d.OverQuota(who, policy.Usage{PerDay: qe.PerDay, Pending: qe.Pending}), nil
	default:
		return d, fmt.Errorf("check quota of %s: %w", key, err)
	}
}

// recordedOrigin is the part of a requester that store.Request.Origin
// keeps: the webhook key's name and what the platform stamped.
type recordedOrigin struct {
	Key string `json:"key,omitempty"`
	policy.Origin
}

// encodeOrigin is what store.Request.Origin records: "" when there is
// nothing to keep, else a JSON object.
func encodeOrigin(key string, o policy.Origin) string {
	if key == "" && o.Zero() {
		return ""
	}
	// Without HTML escaping, printable ASCII (all intake keeps) takes at
	// most two bytes a character, within the column's bound.
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(recordedOrigin{Key: key, Origin: o}) // cannot fail: strings only
	return strings.TrimSuffix(b.String(), "\n")
}

// decodeOrigin reads what encodeOrigin wrote. A value that does not read
// (never written by vpngw) gives an empty origin, which matches only the
// rules that ask for none.
func decodeOrigin(s string) (string, policy.Origin) {
	var r recordedOrigin
	if s == "" || json.Unmarshal([]byte(s), &r) != nil {
		return "", policy.Origin{}
	}
	return r.Key, r.Origin
}

// recordedRequester is the requester a record was decided as.
// sameDelivery says that in is a delivery of the request recorded as rec:
// the same requester (caller, key, chat user, origin), the same dry-run
// flag and the same data.
func sameDelivery(rec store.Request, in Input) bool {
	r := recordedRequester(rec)
	if r.Caller != in.Caller || r.Key != in.Key || r.ChatUser != in.ChatUser || r.Origin != in.Origin || rec.DryRun != in.DryRun {
		return false
	}
	if rec.Data == nil {
		// Recorded before the request's data was kept: there is nothing to
		// compare with.
		return true
	}
	return sameJSON(rec.Data, in.Data)
}

// sameJSON says that a and b are the same JSON value (a store may keep a
// document in another spelling than it was sent).
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func recordedRequester(rec store.Request) policy.Requester {
	key, o := decodeOrigin(rec.Origin)
	return policy.Requester{Source: rec.Source, Caller: rec.Caller, Key: key, ChatUser: rec.ChatUser, Origin: o}
}
