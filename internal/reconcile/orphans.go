package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// How long, and how often, reconcile looks for the gateway of a request
// announced failed.
const (
	// OrphanWindow is how long after its failure a request's gateway is
	// looked for.
	OrphanWindow = 7 * 24 * time.Hour
	// OrphanInterval is how long a request waits between two looks: each
	// look lists the region's gateways, ⌈N/50⌉ DescribeVpnGateways calls
	// for N gateways, shared by every request of the region due then.
	OrphanInterval = 10 * time.Minute
)

// OrphanStore is what the watch over failed requests' gateways needs of
// the store: the candidates (store.Orphans), and Insert to record the
// delete request of an orphan the policy has deleted.
type OrphanStore interface {
	store.Orphans
	Insert(ctx context.Context, r store.Request, events []store.Event) (store.Request, bool, error)
}

// orphanWatch is WithOrphans' setting.
type orphanWatch struct {
	store  OrphanStore
	action func() string // policy.OrphansReport or policy.OrphansDelete
	window time.Duration
	every  time.Duration
}

// WithOrphans makes each tick look for the gateways of requests announced
// failed (Timeout, FinancialLocked, NotFound, or any failure after the
// request reached CreateVpnGateway), for OrphanWindow after the failure,
// once every OrphanInterval each. It runs before the tick claims what is
// pending: a request this tick fails was just listed, and is first looked
// for by a later tick. One that exists is announced
// io.vpngw.gateway.orphaned once; when action says policy.OrphansDelete,
// a delete request "<create id>/orphan" is recorded for it and carried
// out by the redriver (the delete path), and io.vpngw.gateway.deleted
// follows.
func WithOrphans(st OrphanStore, action func() string) Option {
	return func(s *Service) {
		if st != nil {
			s.orphans = &orphanWatch{store: st, action: action, window: OrphanWindow, every: OrphanInterval}
		}
	}
}

// checkOrphans looks for the gateways of the failed requests due a look,
// region by region, and announces those it finds.
func (s *Service) checkOrphans(ctx context.Context, log *slog.Logger, rep *Report, want map[string]bool) {
	w := s.orphans
	if w == nil || s.outOfTime(ctx) != "" || rep.Stopped == stoppedCredentials {
		return
	}
	now := s.now()
	due, err := w.store.OrphanCandidates(ctx, now.Add(-w.window), now.Add(-w.every), s.batch)
	if err != nil {
		rep.Errors = append(rep.Errors, "read orphan candidates: "+err.Error())
		return
	}
	byRegion := map[string][]store.Request{}
	for _, r := range due {
		if len(want) == 0 || want[r.RegionID] {
			byRegion[r.RegionID] = append(byRegion[r.RegionID], r)
		}
	}
	for _, region := range slices.Sorted(maps.Keys(byRegion)) {
		if s.outOfTime(ctx) != "" {
			return
		}
		reqs := byRegion[region]
		found, err := s.findOrphans(ctx, rep, region, reqs)
		if err != nil {
			if !errors.Is(err, errNoSlot) {
				rep.Errors = append(rep.Errors, fmt.Sprintf("describe %s for orphans: %v", region, err))
			}
			continue // looked for again by the next tick
		}
		if err := w.store.OrphanChecked(ctx, keys(reqs), now); err != nil {
			rep.Errors = append(rep.Errors, "record orphan check: "+err.Error())
		}
		for _, r := range reqs {
			g, ok := found[r.Key]
			if !ok || !costs(g) {
				// Not there, or not yet (or no longer) a gateway that
				// costs: looked for again after the interval.
				continue
			}
			s.orphaned(ctx, log, rep, r, g)
		}
	}
}

// findOrphans lists region's gateways, page after page, until each of
// reqs is matched or the listing ends, and returns the gateway of each
// request it matched, by request key. A gateway is a request's when it is
// the gateway the record holds, or when its vpngw:* tags name the request
// (its source, and its event id or ClientToken): a request failed before
// CreateVpnGateway answered has no gateway id, and DescribeVpnGateways
// does not report the ClientToken a gateway was created with.
func (s *Service) findOrphans(ctx context.Context, rep *Report, region string, reqs []store.Request) (map[string]cloud.Gateway, error) {
	f := vpcFilter(reqs)
	found := map[string]cloud.Gateway{}
	for page := 1; ; page++ {
		p, err := s.listPage(ctx, rep, region, f, page)
		if err != nil {
			return nil, err
		}
		for _, g := range p.Gateways {
			for _, r := range reqs {
				if _, done := found[r.Key]; !done && madeFor(g, r) {
					found[r.Key] = g
				}
			}
		}
		if len(found) == len(reqs) || lastPage(p, page) {
			return found, nil
		}
	}
}

// costs reports whether g is a gateway that costs money as it is: made
// (active, or being updated), or locked for an overdue payment. One still
// being made (init, provisioning) may yet fail; one being deleted is
// going.
func costs(g cloud.Gateway) bool {
	return g.Status == "active" || g.Status == "updating" || g.BusinessStatus == "FinancialLocked"
}

// madeFor reports whether g is the gateway of the create request r.
func madeFor(g cloud.Gateway, r store.Request) bool {
	if r.GatewayID != "" {
		return g.VpnGatewayId == r.GatewayID
	}
	tags := policy.IdentityTags(r.Source, r.EventID, "")
	if src, ok := g.Tags.Value(policy.TagSource); !ok || src != tags[0].Value {
		return false
	}
	if ev, ok := g.Tags.Value(policy.TagEventID); ok && ev == tags[1].Value {
		return true
	}
	tok := policy.TokenIdentityTags(r.Source, r.ClientToken, "")
	ct, ok := g.Tags.Value(policy.TagClientToken)
	return ok && r.ClientToken != "" && ct == tok[1].Value
}

// orphaned announces that the failed request r has a gateway, g, and,
// when the policy says so, records and starts its deletion.
func (s *Service) orphaned(ctx context.Context, log *slog.Logger, rep *Report, r store.Request, g cloud.Gateway) {
	now := s.now()
	action := policy.OrphansReport
	if s.orphans.action != nil {
		action = s.orphans.action()
	}
	data := events.Orphaned{
		Request:      events.RequestRef{Source: r.Source, EventID: r.EventID, Subject: r.Subject},
		VpnGatewayId: g.VpnGatewayId, RegionId: r.RegionID, Status: g.Status, BusinessStatus: g.BusinessStatus,
		FailedCode: failedCode(r.LastError), FailedAt: r.UpdatedAt.UTC().Format(time.RFC3339),
		Action: events.OrphanReport,
	}
	reason := fmt.Sprintf("gateway %s exists (%s) although the request was announced failed; orphans: %s in the operator policy", g.VpnGatewayId, g.Status, action)
	if action == policy.OrphansDelete {
		data.Action = events.OrphanDelete
		data.Deletion = &events.CreateRef{Source: r.Source, EventID: r.EventID + request.OrphanSuffix}
		reason += ", so it is deleted by request " + r.Source + " " + data.Deletion.EventID
	}
	e, err := outcome.New(events.TypeOrphaned, outcome.Meta{RequestKey: r.Key, Subject: g.VpnGatewayId, TraceParent: r.TraceParent, Time: now}, data)
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return
	}
	err = s.orphans.store.MarkOrphaned(ctx, r.Key, g.VpnGatewayId, now,
		store.Note{Actor: store.ActorReconcile, Reason: truncate(reason)}, []store.Event{{RequestKey: r.Key, Event: e, CreatedAt: now}})
	switch {
	case errors.Is(err, store.ErrConflict):
		return // announced by another tick, or no longer failed
	case err != nil:
		rep.Errors = append(rep.Errors, fmt.Sprintf("record %s orphaned: %v", r.Key, err))
		return
	}
	rep.Orphaned++
	log.WarnContext(ctx, "gateway orphaned: it exists although its request failed", "request_key", r.Key,
		"gateway_id", g.VpnGatewayId, "region", r.RegionID, "action", action)
	if action == policy.OrphansDelete {
		s.deleteOrphan(ctx, log, rep, r, g)
	}
}

// deleteOrphan records the delete request of the orphan g of r and hands
// it to the redriver, which deletes it as any delete request (a transient
// failure leaves it received, re-driven by a later tick).
func (s *Service) deleteOrphan(ctx context.Context, log *slog.Logger, rep *Report, r store.Request, g cloud.Gateway) {
	now := s.now()
	id := request.IdentityOf(r.Source, r.EventID+request.OrphanSuffix)
	params, err := json.Marshal(events.DeleteRequest{RegionId: r.RegionID, VpnGatewayId: g.VpnGatewayId,
		Request: &events.CreateRef{Source: r.Source, EventID: r.EventID}})
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return
	}
	rec := store.Request{
		Key: id.Key(), Kind: store.KindDelete, Source: id.Source, EventID: id.EventID, Subject: g.VpnGatewayId,
		ClientToken: request.DeleteClientToken(id), RegionID: r.RegionID, VpcID: r.VpcID, GatewayID: g.VpnGatewayId,
		Params: params, Data: params, State: store.Received, CreatedAt: now, UpdatedAt: now, TraceParent: r.TraceParent,
		Sinks: r.Sinks, // its outcomes go where the create request's went
		Note:  store.Note{Actor: store.ActorReconcile, Reason: truncate("orphans: delete in the operator policy: gateway " + g.VpnGatewayId + " of failed request " + r.Source + " " + r.EventID)},
	}
	got, _, err := s.orphans.store.Insert(ctx, rec, nil)
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("record the deletion of orphan %s: %v", g.VpnGatewayId, err))
		return
	}
	if s.redriver == nil || got.State != store.Received {
		return
	}
	if err := s.redriver.Redrive(ctx, got); err != nil {
		// Left received: redriveStuck tries again.
		log.WarnContext(ctx, "orphan deletion not started", "request_key", got.Key, "gateway_id", g.VpnGatewayId, "err", err)
	}
}

// failedCode is the Code a failed request's last error starts with
// ("Timeout: ..."), or "".
func failedCode(lastError string) string {
	code, _, ok := strings.Cut(lastError, ": ")
	if !ok || strings.ContainsAny(code, " \t") {
		return ""
	}
	return code
}
