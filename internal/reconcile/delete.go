package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/outcome"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/textcut"
)

// settleDeletion settles a delete request whose DeleteVpnGateway was
// accepted: once a complete listing (and a lookup by id) no longer reports
// the gateway, the request and the create request that made the gateway
// are Deleted and io.vpngw.gateway.deleted is announced; a gateway still
// listed past the provisioning timeout fails the request with Stage
// deletion and Timeout. It reports whether it settled r.
func (s *Service) settleDeletion(ctx context.Context, log *slog.Logger, rep *Report, r store.Request, g cloud.Gateway, complete bool) bool {
	now := s.now()
	ref := events.RequestRef{Source: r.Source, EventID: r.EventID, Subject: r.Subject}
	var target events.DeleteRequest
	_ = json.Unmarshal(r.Params, &target) // written by provision; a record without it names no create request
	var (
		to     store.State
		typ    string
		data   any
		reason string
	)
	switch age := now.Sub(r.AcceptedAt); {
	case g.VpnGatewayId == "" && complete:
		to, typ = store.Deleted, events.TypeDeleted
		data = events.Deleted{Request: ref, VpnGatewayId: r.GatewayID, RegionId: r.RegionID, Created: target.Request}
		reason = fmt.Sprintf("DescribeVpnGateways no longer lists %s", r.GatewayID)
	case age >= s.timeout:
		status := g.Status
		if status == "" {
			status = "not confirmed gone"
		}
		f := events.Failed{Request: ref, Stage: events.StageDeletion, Code: events.CodeTimeout,
			Message:      fmt.Sprintf("gateway %s is still %s %s after DeleteVpnGateway was accepted (limit %s); check it in the console", r.GatewayID, status, age.Round(time.Second), s.timeout),
			VpnGatewayId: r.GatewayID, RegionId: r.RegionID}
		to, typ, data, reason = store.Failed, events.TypeFailed, f, f.Code+": "+f.Message
	default:
		rep.StillPending++
		return false
	}
	e, err := outcome.New(typ, outcome.Meta{RequestKey: r.Key, Subject: r.GatewayID, TraceParent: r.TraceParent, Time: now}, data)
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return false
	}
	if to == store.Deleted && target.Request != nil {
		// The create request's gateway is gone too: its record says so,
		// and by which request. Done first, so that a tick that stops
		// between the two leaves the delete request pending, to be
		// settled (and this repeated, as a conflict) by the next.
		key := request.IdentityOf(target.Request.Source, target.Request.EventID).Key()
		_, err := s.store.Transition(ctx, key, []store.State{store.Active, store.Pending, store.Failed}, store.Deleted, "",
			store.Change{Note: store.Note{Actor: store.ActorReconcile, Reason: truncate(fmt.Sprintf("gateway %s deleted by request %s %s", r.GatewayID, r.Source, r.EventID))}}, nil)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			rep.Errors = append(rep.Errors, fmt.Sprintf("record %s deleted: %v", key, err))
			return false
		}
	}
	c := store.Change{LastError: lastError(to, reason), Note: store.Note{Actor: store.ActorReconcile, Reason: truncate(reason)}}
	return s.record(ctx, log, rep, r, now, to, e, c, "deletion settled")
}

// lastError is what a settled request keeps as its last error: the reason
// of a failure, nothing for a success.
func lastError(to store.State, reason string) string {
	if to == store.Failed {
		return truncate(reason)
	}
	return ""
}

// truncate keeps s within store.MaxReason bytes, cut at a character
// boundary.
func truncate(s string) string {
	return textcut.Cut(s, store.MaxReason)
}
