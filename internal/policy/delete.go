package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Actions a rule may allow (its actions list).
const (
	// ActionCreate: create gateways (io.vpngw.gateway.requested and the
	// items of a batch). A rule that names no actions allows this alone.
	ActionCreate = "create"
	// ActionDelete: delete gateways vpngw created
	// (io.vpngw.gateway.delete.requested); by default only those the
	// requester itself asked for (deleteOwnOnly).
	ActionDelete = "delete"
)

// Actions lists every action, for the loader's checks and messages.
var Actions = []string{ActionCreate, ActionDelete}

// DeleteTarget is the gateway a delete request names, as vpngw's record of
// its creation shows it.
type DeleteTarget struct {
	GatewayID string
	RegionID  string
	VpcID     string
	// CreatedBy is the requester of the create request that made the
	// gateway: its source, and its caller, key, chat user and origin when
	// it had them.
	CreatedBy Requester
}

// DecideDelete applies the policy to a request from who to delete t. The
// first rule whose match fits who decides, as for a create; when none fits,
// or the rule's actions do not list delete, the request is denied. A rule
// that allows deleting takes only gateways in its regions and, unless it
// says deleteOwnOnly: false, only those who asked for: the same source, and
// the same caller, key, chat user and origin. The source alone is not
// enough: every user of a chat team shares one, and a webhook sender or a
// bus producer chooses the source it claims.
func (p *Policy) DecideDelete(who Requester, t DeleteTarget) (Decision, error) {
	if p == nil {
		return Decision{}, ErrNilPolicy
	}
	ru := p.match(who)
	if ru == nil {
		msg := fmt.Sprintf("no rule of the policy matches requester %s, so the deletion is denied (only what a rule allows is deleted)", who)
		return Decision{DryRun: p.DryRun, Message: msg, Violations: deniedBySource(who, msg)}, nil
	}
	c := checker{rule: ru.name}
	if !slices.Contains(ru.actions, ActionDelete) {
		c.add("actions", "type", "delete", "a rule whose actions list delete",
			"deleting is not among the actions the rule allows (%s); add delete to its actions to let this requester delete", strings.Join(ru.actions, ", "))
	} else {
		if !ru.regions.match(t.RegionID) {
			c.add("regions", "RegionId", t.RegionID, "one of "+ru.regions.String(),
				"RegionId %q is not a region the rule allows (%s)", t.RegionID, ru.regions)
		}
		if !ru.deleteAny && t.CreatedBy != who {
			c.add("deleteOwnOnly", "VpnGatewayId", t.GatewayID, fmt.Sprintf("a gateway %s asked for", who),
				"gateway %s was not asked for by the requester (%s); the rule allows deleting only what the requester itself created (deleteOwnOnly)",
				t.GatewayID, who)
		}
	}
	d := Decision{Allowed: len(c.violations) == 0, Rule: ru.name, DryRun: p.DryRun || ru.dryRun, Violations: c.violations, Sinks: slices.Clone(ru.sinks)}
	if d.Allowed {
		d.Message = fmt.Sprintf("rule %q allows requester %s to delete %s", ru.name, who, t.GatewayID)
	} else {
		d.Message = fmt.Sprintf("rule %q denies requester %s deleting %s: %s", ru.name, who, t.GatewayID, strings.Join(c.short, "; "))
	}
	return d, nil
}
