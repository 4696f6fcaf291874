package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/store"
)

// Store is what a tick needs of the request store.
type Store interface {
	Claim(ctx context.Context, states []store.State, owner string, now time.Time, lease time.Duration, limit int) ([]store.Request, error)
	Release(ctx context.Context, owner string, keys []string) error
	Transition(ctx context.Context, key string, from []store.State, to store.State, leaseOwner string, c store.Change, events []store.Event) (store.Request, error)
	HeldUntil(ctx context.Context, state store.State, owner string, now time.Time) (time.Time, error)
}

// Describer reads one page of a region's gateways.
type Describer interface {
	DescribeVpnGateways(ctx context.Context, region string, f cloud.Filter, pageNumber, pageSize int) (cloud.Page, error)
}

// Redriver re-attempts the creation of a request left Received.
type Redriver interface {
	Redrive(ctx context.Context, r store.Request) error
}

// BatchFinisher finishes a batch request: it takes up items no delivery
// reached and, once every item is terminal, writes the batch's summary.
type BatchFinisher interface {
	FinishBatch(ctx context.Context, batch store.Request, leaseOwner string) (done bool, err error)
}

// Drainer publishes the outbox.
type Drainer interface {
	Drain(ctx context.Context) (outbox.Report, error)
	Held(ctx context.Context) (int, error)
	Reoffer(ctx context.Context) (int, error)
}

// Options for one tick, as a timer trigger's payload may carry them.
type Options struct {
	// Regions limits the tick to these regions (empty: all).
	Regions []string `json:"regions,omitempty"`
}

// Report is what one tick did.
type Report struct {
	Owner         string         `json:"owner"`
	Claimed       int            `json:"claimed"`
	Active        int            `json:"active"`
	Failed        int            `json:"failed"`
	Deleted       int            `json:"deleted"`  // delete requests whose gateway is gone
	Expiring      int            `json:"expiring"` // expiry warnings announced
	Expired       int            `json:"expired"`  // gateways past their expiry handed to deletion
	StillPending  int            `json:"stillPending"`
	Redriven      int            `json:"redriven"`
	Batches       int            `json:"batchesCompleted"`
	Orphaned      int            `json:"orphaned"` // failed requests whose gateway was found, announced
	APICalls      int            `json:"apiCalls"` // DescribeVpnGateways calls made
	Checks        int            `json:"checks"`   // rounds that asked the API (DescribeVpnGateways)
	CallsByRegion map[string]int `json:"callsByRegion,omitempty"`
	Published     int            `json:"published"`
	Parked        int            `json:"parked"`            // outbox events the broker refused for good, set aside by this tick's drain
	ParkedHeld    int            `json:"parkedHeld"`        // outbox events parked in the store, by any drain, after this tick
	Reoffered     int            `json:"reoffered"`         // parked unrouted events offered to the broker again
	Stopped       string         `json:"stopped,omitempty"` // why the tick ended early
	Errors        []string       `json:"errors,omitempty"`
	Duration      time.Duration  `json:"durationNs"`
}

// Service runs ticks.
type Service struct {
	store    Store
	api      Describer
	redriver Redriver
	batches  BatchFinisher
	drainer  Drainer
	expiry   ExpiryStore
	expirer  Expirer
	now      func() time.Time
	log      *slog.Logger
	timeout  time.Duration // VPNGW_PROVISION_TIMEOUT
	notFound time.Duration // grace before a missing gateway counts as gone
	redrive  time.Duration // age after which a Received request is re-driven
	lease    time.Duration // the lease a tick holds on what it claimed
	batch    int           // requests one claim takes
	maxClaim int           // requests one tick takes in all
	reserve  time.Duration // deadline left unused, to record and publish

	// The schedule within a tick (schedule.go, watch.go).
	sched   Schedule
	sleep   func(ctx context.Context, d time.Duration) error // waits on the clock of now
	speed   float64                                          // the clock's seconds per wall-clock second
	slots   Slots                                            // the shared queue of call starts
	share   float64                                          // DescribeVpnGateways calls a second per region the checks may make (0: no bound)
	history History                                          // what the schedule learns from (WithHistory)

	orphans *orphanWatch // WithOrphans (orphans.go); nil: not watched
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithProvisionTimeout sets how long a gateway may take to become active.
func WithProvisionTimeout(d time.Duration) Option { return func(s *Service) { s.timeout = d } }

// WithRedriver re-drives requests left Received for longer than after.
func WithRedriver(r Redriver, after time.Duration) Option {
	return func(s *Service) { s.redriver, s.redrive = r, after }
}

// WithReserve sets how much of the invocation's time a tick leaves unused,
// to record and publish what it did (default 5 s).
func WithReserve(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.reserve = d
		}
	}
}

// WithBatches finishes batch requests on each tick.
func WithBatches(b BatchFinisher) Option { return func(s *Service) { s.batches = b } }

// WithDrainer publishes the outbox at the end of each tick.
func WithDrainer(d Drainer) Option { return func(s *Service) { s.drainer = d } }

// WithSchedule sets when a tick checks its pending gateways again (the
// default is OneCheckPerTick).
func WithSchedule(sch Schedule) Option { return func(s *Service) { s.sched = sch } }

// WithTimer sets how a tick waits between checks: sleep waits on the clock
// of WithClock, which runs speed times as fast as the wall clock (1 for the
// wall clock, and for a test clock that moves only in sleep), so that the
// invocation's deadline, which is wall-clock time, is measured on it.
func WithTimer(sleep func(ctx context.Context, d time.Duration) error, speed float64) Option {
	return func(s *Service) {
		if sleep != nil && speed > 0 {
			s.sleep, s.speed = sleep, speed
		}
	}
}

// WithQuotaShare keeps the checks of an adaptive schedule within perSec
// DescribeVpnGateways calls a second per region, together with every other
// instance that reserves its call starts in the same slots (the store's
// api_slots): each call reserves its start first. Zero leaves them unbound
// (the cloud client's own rate limit still applies).
func WithQuotaShare(slots Slots, perSec float64) Option {
	return func(s *Service) { s.slots, s.share = slots, perSec }
}

// New builds a Service.
func New(st Store, api Describer, opts ...Option) (*Service, error) {
	if st == nil || api == nil {
		return nil, errors.New("reconcile: store and describer are required")
	}
	s := &Service{
		store: st, api: api, now: time.Now, log: slog.Default(),
		timeout: 30 * time.Minute, notFound: time.Minute, lease: 2 * time.Minute,
		batch: 500, maxClaim: 20000, reserve: 5 * time.Second,
		sleep: SleepWall, speed: 1,
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Tick checks pending gateways once.
func (s *Service) Tick(ctx context.Context, opt Options) (Report, error) {
	start := time.Now()
	// What the tick changes, itself or through the redriver and the
	// batch finisher, is the reconcile's in the requests' history.
	ctx = store.WithActor(ctx, store.ActorReconcile)
	rep := Report{Owner: newOwner(), CallsByRegion: map[string]int{}}
	log := s.log.With("tick", rep.Owner)
	want := map[string]bool{}
	for _, r := range opt.Regions {
		want[r] = true
	}

	if s.redriver != nil {
		s.redriveStuck(ctx, log, &rep, want)
	}
	// Batches an invocation left are continued beside the checks, which
	// go on meanwhile (batches.go).
	runner := s.newBatchRunner(log, rep.Owner)
	runner.start(ctx)
	if s.expiry != nil && s.expirer != nil {
		// Before the watch, so that a delete recorded here is checked
		// by this tick already.
		s.expire(ctx, log, &rep)
	}
	// Claim what is pending and check it, on the schedule, while anything
	// is pending and the invocation lasts (watch.go).
	s.checkOrphans(ctx, log, &rep, want)
	s.watch(ctx, log, &rep, want, runner)
	runner.wait(&rep)
	if s.batches != nil {
		s.finishBatches(ctx, log, &rep)
	}
	if s.drainer != nil {
		if n, err := s.drainer.Reoffer(ctx); err != nil {
			rep.Errors = append(rep.Errors, "re-offer parked events: "+err.Error())
		} else {
			rep.Reoffered = n
		}
		s.drain(ctx, &rep)
		// Events parked by any drain (most by a provision invocation's,
		// whose report is not the tick's) are said here on every tick
		// until they are published or removed.
		if held, err := s.drainer.Held(ctx); err != nil {
			rep.Errors = append(rep.Errors, "count parked events: "+err.Error())
		} else if rep.ParkedHeld = held; held > 0 {
			log.ErrorContext(ctx, "outbox holds parked events the broker refused; they are not published until the cause is fixed and they are unparked",
				"parked_held", held,
				"see", "SELECT d.sink, d.seq, o.id, o.type, d.parked_at, d.parked_reason FROM outbox_deliveries d JOIN outbox o ON o.seq = d.seq WHERE d.parked_at IS NOT NULL ORDER BY d.sink, d.seq")
		}
	}
	rep.Duration = time.Since(start)
	level := slog.LevelInfo
	if rep.Claimed == 0 && rep.Redriven == 0 && rep.Expiring == 0 && rep.Expired == 0 && rep.Published == 0 && rep.Parked == 0 && len(rep.Errors) == 0 {
		level = slog.LevelDebug // an idle tick every few seconds is not news
	}
	log.Log(ctx, level, "tick done", "claimed", rep.Claimed, "active", rep.Active, "failed", rep.Failed,
		"still_pending", rep.StillPending, "redriven", rep.Redriven, "api_calls", rep.APICalls,
		"published", rep.Published, "parked", rep.Parked, "stopped", rep.Stopped, "errors", len(rep.Errors))
	if len(rep.Errors) > 0 {
		return rep, fmt.Errorf("reconcile tick: %d errors, first: %s", len(rep.Errors), rep.Errors[0])
	}
	return rep, nil
}

// outOfTime says why no more work should be claimed, or "".
func (s *Service) outOfTime(ctx context.Context) string {
	if ctx.Err() != nil {
		return "context done"
	}
	if left, ok := s.left(ctx); ok && left < s.reserve {
		return "deadline near"
	}
	return ""
}

// left is the time until ctx's deadline (wall-clock time) on the tick's
// clock, and whether ctx has one.
func (s *Service) left(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Duration(float64(time.Until(dl)) * s.speed), true
}

// check settles one claimed batch, region by region, and returns the keys it
// did not settle.
func (s *Service) check(ctx context.Context, log *slog.Logger, rep *Report, claimed []store.Request, want map[string]bool) []string {
	byRegion := map[string][]store.Request{}
	var skip []string
	for _, r := range claimed {
		if len(want) > 0 && !want[r.RegionID] {
			skip = append(skip, r.Key)
			continue
		}
		byRegion[r.RegionID] = append(byRegion[r.RegionID], r)
	}
	for _, region := range slices.Sorted(maps.Keys(byRegion)) {
		reqs := byRegion[region]
		if why := s.outOfTime(ctx); why != "" {
			rep.Stopped = why
			skip = append(skip, keys(reqs)...)
			continue
		}
		if rep.Stopped == stoppedCredentials {
			skip = append(skip, keys(reqs)...)
			continue
		}
		found, complete, err := s.find(ctx, rep, region, reqs)
		if errors.Is(err, errNoSlot) {
			// The checks' share of the quota has no call start left
			// before the deadline: the next tick goes on.
			rep.Stopped = stoppedShare
			skip = append(skip, keys(reqs)...)
			continue
		}
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("describe %s: %v", region, err))
			skip = append(skip, keys(reqs)...)
			if fix := operatorFix(err); fix != "" {
				// The key is the account's, not the region's: every other
				// region would answer the same. Nothing is settled from a
				// refused listing; the requests stay pending for a tick
				// after the fix.
				log.ErrorContext(ctx, "the cloud API refused vpngw's credentials; pending requests stay pending until they are fixed",
					"region", region, "fix", fix)
				rep.Stopped = stoppedCredentials
			}
			continue
		}
		unconfirmed := s.confirm(ctx, rep, region, reqs, found, complete)
		var release []string
		for _, r := range reqs {
			switch why, ok := unconfirmed[r.GatewayID]; {
			case ok && why == lookupFailed && s.now().Sub(r.AcceptedAt) >= s.timeout:
				// Its by-id lookup keeps failing: its absence stays
				// unconfirmed, so it is not NotFound, but it is past the
				// provisioning timeout whether it exists or not.
				if s.settle(ctx, log, rep, r, cloud.Gateway{}, false) {
					continue
				}
			case ok:
				rep.StillPending++
			default:
				if s.settle(ctx, log, rep, r, found[r.GatewayID], complete) {
					continue
				}
			}
			release = append(release, r.Key)
		}
		skip = append(skip, release...)
	}
	return skip
}

// find pages through a region's gateways until every wanted id is seen.
// complete is true when the whole listing was read, so a missing id is
// really missing.
func (s *Service) find(ctx context.Context, rep *Report, region string, reqs []store.Request) (map[string]cloud.Gateway, bool, error) {
	wanted := map[string]bool{}
	for _, r := range reqs {
		wanted[r.GatewayID] = true
	}
	f := vpcFilter(reqs)
	found := map[string]cloud.Gateway{}
	for page := 1; ; page++ {
		p, err := s.listPage(ctx, rep, region, f, page)
		if err != nil {
			return nil, false, err
		}
		for _, g := range p.Gateways {
			if wanted[g.VpnGatewayId] {
				found[g.VpnGatewayId] = g
			}
		}
		if len(found) == len(wanted) {
			return found, false, nil
		}
		if lastPage(p, page) {
			return found, true, nil
		}
	}
}

// confirm asks for each gateway the listing missed by its id, before its
// absence could settle its request (NotFound, or Timeout as "not listed"):
// a gateway deleted elsewhere while the tick pages through the listing
// shifts every later gateway one place up, so a gateway can move from an
// unread page to a page already read and be missed although it exists.
// The ones it finds are added to found. DescribeVpnGateways takes one
// VpnGatewayId, so it costs one call per missing gateway, and only the
// missing ones whose absence would count are asked for. It returns the
// gateways it could not ask about, with why: their requests stay as they
// are, except one whose lookup failed once it is past the provisioning
// timeout.
func (s *Service) confirm(ctx context.Context, rep *Report, region string, reqs []store.Request, found map[string]cloud.Gateway, complete bool) map[string]unasked {
	var unconfirmed map[string]unasked
	now := s.now()
	for _, r := range reqs {
		if _, ok := found[r.GatewayID]; ok || r.GatewayID == "" {
			continue
		}
		age := now.Sub(r.AcceptedAt)
		// A gateway being deleted is expected to go: its absence in a
		// complete listing is confirmed at once, so that its deletion is
		// announced within the tick.
		gone := complete && (age >= s.notFound || r.Kind == store.KindDelete)
		if !gone && age < s.timeout {
			continue // its absence settles nothing yet
		}
		if unconfirmed == nil {
			unconfirmed = map[string]unasked{}
		}
		if s.outOfTime(ctx) != "" {
			unconfirmed[r.GatewayID] = outOfTime
			continue
		}
		if err := s.pace(ctx, region); err != nil {
			unconfirmed[r.GatewayID] = outOfTime
			if !errors.Is(err, errNoSlot) {
				rep.Errors = append(rep.Errors, fmt.Sprintf("describe %s %s: %v", region, r.GatewayID, err))
				unconfirmed[r.GatewayID] = lookupFailed
			}
			continue
		}
		p, err := s.api.DescribeVpnGateways(ctx, region, cloud.Filter{VpnGatewayId: r.GatewayID}, 1, cloud.MaxPageSize)
		rep.APICalls++
		rep.CallsByRegion[region]++
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("describe %s %s: %v", region, r.GatewayID, err))
			unconfirmed[r.GatewayID] = lookupFailed
			continue
		}
		for _, g := range p.Gateways {
			if g.VpnGatewayId == r.GatewayID {
				found[g.VpnGatewayId] = g
			}
		}
	}
	return unconfirmed
}

// unasked is why confirm could not ask for a gateway.
type unasked int

const (
	outOfTime    unasked = iota + 1 // the tick had no time left
	lookupFailed                    // DescribeVpnGateways by id failed
)

// settle records the outcome of one request if it has one, and reports
// whether it did.
func (s *Service) settle(ctx context.Context, log *slog.Logger, rep *Report, r store.Request, g cloud.Gateway, complete bool) bool {
	if r.Kind == store.KindDelete {
		return s.settleDeletion(ctx, log, rep, r, g, complete)
	}
	now := s.now()
	ref := events.RequestRef{Source: r.Source, EventID: r.EventID, Subject: r.Subject}
	age := now.Sub(r.AcceptedAt)
	var (
		to     store.State
		typ    string
		data   any
		reason string
	)
	switch {
	case g.VpnGatewayId != "" && g.BusinessStatus == "FinancialLocked":
		to, typ = store.Failed, events.TypeFailed
		data = events.Failed{Request: ref, Stage: events.StageProvisioning, Code: events.CodeFinancialLocked,
			Message: fmt.Sprintf("gateway %s was created but is financially locked: the account has an overdue payment. "+
				"This request is failed for good and is not retried: the account owner settles the overdue payment in the Billing console, "+
				"which unlocks the gateway; then use %s as it is, or delete it and send a new request with a new id", g.VpnGatewayId, g.VpnGatewayId),
			VpnGatewayId: r.GatewayID, RegionId: r.RegionID}
	case g.VpnGatewayId != "" && g.Status == "active" && (g.BusinessStatus == "" || g.BusinessStatus == "Normal"):
		to, typ = store.Active, events.TypeActive
		data = events.Active{Request: ref, VpnGatewayId: g.VpnGatewayId, RegionId: r.RegionID, VpcId: g.VpcId,
			Name: g.Name, Status: g.Status, BusinessStatus: g.BusinessStatus, Spec: g.Spec, Bandwidth: g.Bandwidth(),
			InternetIp: g.InternetIp, DisasterRecoveryInternetIp: g.DisasterRecoveryInternetIp,
			SslVpnInternetIp: g.SslVpnInternetIp, SslMaxConnections: g.SslMaxConnections, ChargeType: g.ChargeType,
			CreateTime: g.CreateTime, OrderId: r.OrderID}
	case g.VpnGatewayId == "" && complete && age >= s.notFound:
		to, typ = store.Failed, events.TypeFailed
		data = events.Failed{Request: ref, Stage: events.StageProvisioning, Code: events.CodeNotFound,
			Message:      fmt.Sprintf("gateway %s is no longer listed by DescribeVpnGateways in %s (deleted, or its order was cancelled); send a new request to create another", r.GatewayID, r.RegionID),
			VpnGatewayId: r.GatewayID, RegionId: r.RegionID}
	case age >= s.timeout:
		to, typ = store.Failed, events.TypeFailed
		status := g.Status
		if status == "" {
			status = "not listed"
		}
		data = events.Failed{Request: ref, Stage: events.StageProvisioning, Code: events.CodeTimeout,
			Message:      fmt.Sprintf("gateway %s is still %s %s after acceptance (limit %s); check it in the console, then delete it or re-drive the request", r.GatewayID, status, age.Round(time.Second), s.timeout),
			VpnGatewayId: r.GatewayID, RegionId: r.RegionID}
	default:
		rep.StillPending++
		return false
	}
	if f, ok := data.(events.Failed); ok {
		reason = f.Code + ": " + f.Message
	}
	e, err := outcome.New(typ, outcome.Meta{RequestKey: r.Key, Subject: r.GatewayID, TraceParent: r.TraceParent, Time: now}, data)
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return false
	}
	note := store.Note{Actor: store.ActorReconcile, Reason: reason}
	if to == store.Active {
		note.Reason = fmt.Sprintf("DescribeVpnGateways lists %s %s", g.VpnGatewayId, g.Status)
	}
	return s.record(ctx, log, rep, r, now, to, e, store.Change{LastError: reason, Note: note}, "gateway settled")
}

// record moves the pending request r to its settled state to, with c and
// its outcome event e in the same write, counts it in rep and logs it as
// msg. It reports whether r is settled: a conflict means the lease expired
// and another tick settled r, whose event, with the same id, is the one
// that counts.
func (s *Service) record(ctx context.Context, log *slog.Logger, rep *Report, r store.Request, now time.Time, to store.State, e outgoing.Event, c store.Change, msg string) bool {
	_, err := s.store.Transition(ctx, r.Key, []store.State{store.Pending}, to, rep.Owner, c,
		[]store.Event{{RequestKey: r.Key, Event: e, CreatedAt: now}})
	switch {
	case errors.Is(err, store.ErrConflict):
		log.WarnContext(ctx, "request settled by another tick", "request_key", r.Key)
		return true
	case err != nil:
		rep.Errors = append(rep.Errors, fmt.Sprintf("record %s: %v", r.Key, err))
		return false
	}
	switch to {
	case store.Active:
		rep.Active++
	case store.Deleted:
		rep.Deleted++
	default:
		rep.Failed++
	}
	log.InfoContext(ctx, msg, "request_key", r.Key, "gateway_id", r.GatewayID, "state", to)
	return true
}

// redriveStuck re-attempts creation for requests whose deliveries stopped
// before they were settled (a crash after recording, or a platform that gave
// up retrying). The same ClientToken makes this safe beside a late delivery.
func (s *Service) redriveStuck(ctx context.Context, log *slog.Logger, rep *Report, want map[string]bool) {
	if s.outOfTime(ctx) != "" {
		return
	}
	now := s.now()
	claimed, err := s.store.Claim(ctx, []store.State{store.Received}, rep.Owner, now, s.leaseFor(ctx), s.batch)
	if err != nil {
		rep.Errors = append(rep.Errors, "claim received: "+err.Error())
		return
	}
	var (
		release []string
		faulted int // requests of this tick refused for the operator's reasons
	)
	for _, r := range claimed {
		if now.Sub(r.UpdatedAt) < s.redrive || (len(want) > 0 && !want[r.RegionID]) || s.outOfTime(ctx) != "" {
			release = append(release, r.Key)
			continue
		}
		if rep.Stopped == stoppedCredentials {
			release = append(release, r.Key)
			continue
		}
		if err := s.redriver.Redrive(ctx, r); err != nil {
			log.WarnContext(ctx, "redrive failed", "request_key", r.Key, "err", err)
			if operatorFix(err) != "" {
				// The redriver logged what to fix. One refusal may be the
				// request's own (a permission scoped away from what it
				// asks for): the others go on. A second request refused
				// too says the account's: the others would meet it.
				if faulted++; faulted > 1 {
					rep.Stopped = stoppedCredentials
				}
			}
		}
		// Redrive's Transition clears the lease; release it too in case the
		// request stayed Received.
		release = append(release, r.Key)
		rep.Redriven++
	}
	if len(release) > 0 {
		if err := s.store.Release(ctx, rep.Owner, release); err != nil {
			rep.Errors = append(rep.Errors, "release: "+err.Error())
		}
	}
}

// finishBatches looks at the open batches and completes those whose items
// are all terminal.
func (s *Service) finishBatches(ctx context.Context, log *slog.Logger, rep *Report) {
	if s.outOfTime(ctx) != "" {
		return
	}
	open, err := s.store.Claim(ctx, []store.State{store.Batch}, rep.Owner, s.now(), s.leaseFor(ctx), s.batch)
	if err != nil {
		rep.Errors = append(rep.Errors, "claim batches: "+err.Error())
		return
	}
	var release []string
	for _, b := range open {
		if s.outOfTime(ctx) != "" {
			release = append(release, b.Key)
			continue
		}
		done, err := s.batches.FinishBatch(ctx, b, rep.Owner)
		if err != nil {
			log.WarnContext(ctx, "batch not finished", "request_key", b.Key, "err", err)
		}
		if done {
			rep.Batches++
		} else {
			release = append(release, b.Key)
		}
	}
	if len(release) > 0 {
		if err := s.store.Release(ctx, rep.Owner, release); err != nil {
			rep.Errors = append(rep.Errors, "release: "+err.Error())
		}
	}
}

// batchHeldElsewhere says whether another invocation holds an open batch
// and its hold ends at least takeoverTime before end (the tick's end). Ticks overlap (the
// reconcile timeout outlasts the timer's period), so a tick with nothing
// pending stays for such a batch: each round's claim (finishBatches)
// continues it the moment the holder stops creating and hands it back,
// where ending at once would leave it to the timer's next tick.
func (s *Service) batchHeldElsewhere(ctx context.Context, rep *Report, end time.Time) bool {
	if s.batches == nil {
		return false
	}
	until, err := s.store.HeldUntil(ctx, store.Batch, rep.Owner, s.now())
	if err != nil {
		rep.Errors = append(rep.Errors, "look for held batches: "+err.Error())
		return false
	}
	return !until.IsZero() && until.Before(end.Add(-takeoverTime))
}

// takeoverTime is how long before a tick's end a hold held elsewhere must
// end for the tick to stay for it: time to claim the batch and create some
// of its items. A hold that ends later (a holder killed at its deadline
// hands nothing back) is left to the next tick, so that a tick does not
// bill its whole invocation and create nothing.
const takeoverTime = 10 * time.Second

// stoppedCredentials is Report.Stopped when the API refused the operator's
// credentials or permissions.
const stoppedCredentials = "the cloud API refused the credentials"

// operatorFix is what the operator must fix when err is an operator fault
// (see cloud.Error.OperatorFix), or "".
func operatorFix(err error) string {
	var op interface{ OperatorFix() string }
	if errors.As(err, &op) {
		return op.OperatorFix()
	}
	return ""
}

// leaseMargin is added to a tick's remaining time when bounding its lease,
// for clocks of instances that disagree a little.
const leaseMargin = 2 * time.Second

// leaseFor is the lease a claim made now holds: the configured lease, but
// no longer than the invocation can still run. A tick cannot outlive its
// invocation, so a longer lease only keeps the requests of a killed or
// cancelled tick from every other tick.
func (s *Service) leaseFor(ctx context.Context) time.Duration {
	lease := s.lease
	if left, ok := s.left(ctx); ok {
		if left += leaseMargin; left < lease {
			lease = max(left, time.Second)
		}
	}
	return lease
}

func keys(rs []store.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

func newOwner() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "tick-" + hex.EncodeToString(b)
}
