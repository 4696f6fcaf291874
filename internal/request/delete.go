package request

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/vpngw/vpngw/events"
)

// deleteMembers are the members of a delete request's data; createRefMembers
// those of its Request.
var (
	deleteMembers    = []string{"RegionId", "VpnGatewayId", "Request"}
	createRefMembers = []string{"Source", "Id"}
)

// vpnGatewayIDFormat is the shape of a VPN gateway's ID.
var vpnGatewayIDFormat = regexp.MustCompile(`^vpn-[a-z0-9]+$`)

const deleteDataAllowed = `a JSON object: {"RegionId", "VpnGatewayId"} or {"Request": {"Source", "Id"}}`

// ParseDelete decodes and checks the data of an
// io.vpngw.gateway.delete.requested strictly: the gateway named one way only
// (RegionId and VpnGatewayId, or Request naming its create request), no
// other member, every value of its shape. The error is *Error with a
// FieldError per problem, each naming its member.
func ParseDelete(data []byte) (events.DeleteRequest, error) {
	var d events.DeleteRequest
	l := &errorList{}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		what := "empty"
		if len(trimmed) > 0 {
			what = kindOf(trimmed)
		}
		return d, &Error{Errors: []events.FieldError{{Field: DataField, Value: clip(string(trimmed)), Allowed: deleteDataAllowed,
			Message: "delete request data must be " + deleteDataAllowed + ", not " + what}}}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var hasRequest bool
	fatal := readObject(dec, "", deleteMembers, "a member of a delete request", l, func(name string, raw json.RawMessage) {
		switch name {
		case "RegionId", "VpnGatewayId":
			dst := &d.VpnGatewayId
			if name == "RegionId" {
				dst = &d.RegionId
			}
			if s, ok := decodeString(l, name, raw); ok {
				*dst = s
			}
		case "Request":
			hasRequest = true
			d.Request = decodeCreateRef(raw, l)
		}
	})
	if fatal != nil {
		return d, &Error{Errors: []events.FieldError{*fatal}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return d, &Error{Errors: []events.FieldError{{Field: DataField, Allowed: "a single JSON object",
			Message: fmt.Sprintf("delete request data has trailing content after the JSON object (at byte %d)", dec.InputOffset())}}}
	}
	byID := d.RegionId != "" || d.VpnGatewayId != ""
	switch {
	case hasRequest && byID:
		l.put(events.FieldError{Field: "Request", Allowed: deleteDataAllowed,
			Message: "a delete request names its gateway one way: Request (the create request) or RegionId and VpnGatewayId, not both"})
	case hasRequest:
	case !byID && len(l.errs) == 0:
		l.put(events.FieldError{Field: "VpnGatewayId", Allowed: deleteDataAllowed,
			Message: "a delete request names the gateway to delete: RegionId and VpnGatewayId, or Request naming the create request"})
	default:
		c := checker{errorList: *l}
		switch {
		case d.RegionId == "":
			c.add("RegionId", "", "a region ID such as cn-hangzhou", "RegionId is required with VpnGatewayId")
		case len(d.RegionId) > MaxRegionIDLength || !regionIDFormat.MatchString(d.RegionId):
			c.add("RegionId", d.RegionId, "a region ID such as cn-hangzhou or ap-southeast-1 (lower-case words joined by hyphens)",
				"RegionId %q is not a region ID", clip(d.RegionId))
		}
		checkID(&c, "VpnGatewayId", d.VpnGatewayId, true, vpnGatewayIDFormat, "VPN gateway", "vpn-", "a VPN gateway ID such as vpn-bp1q8bgx4xnkm2ogj")
		*l = c.errorList
	}
	if errs := l.list(); len(errs) > 0 {
		return d, &Error{Errors: errs}
	}
	return d, nil
}

// decodeCreateRef reads a delete request's Request member.
func decodeCreateRef(raw json.RawMessage, l *errorList) *events.CreateRef {
	ref := &events.CreateRef{}
	if len(raw) == 0 || raw[0] != '{' {
		l.put(events.FieldError{Field: "Request", Value: clip(string(raw)), Allowed: `{"Source": "<the create request's source>", "Id": "<its id>"}`,
			Message: "Request must be an object naming the create request: its Source and Id, not " + kindOf(raw)})
		return ref
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	seen := map[string]bool{}
	fatal := readObject(dec, "Request.", createRefMembers, "a member of Request (Source, Id)", l, func(name string, v json.RawMessage) {
		s, ok := decodeString(l, "Request."+name, v)
		seen[name] = true
		if !ok {
			return
		}
		switch {
		case s == "":
			l.put(events.FieldError{Field: "Request." + name, Allowed: "a non-empty string",
				Message: "Request." + name + " is empty; give the create request's " + strings.ToLower(name)})
		case len(s) > MaxIdentityLength:
			l.put(events.FieldError{Field: "Request." + name, Value: clip(s), Allowed: fmt.Sprintf("at most %d bytes", MaxIdentityLength),
				Message: fmt.Sprintf("Request.%s is %d bytes long; at most %d are allowed", name, len(s), MaxIdentityLength)})
		}
		if name == "Source" {
			ref.Source = s
		} else {
			ref.EventID = s
		}
	})
	if fatal != nil {
		fatal.Field = "Request"
		l.put(*fatal)
		return ref
	}
	for _, m := range createRefMembers {
		if !seen[m] {
			l.put(events.FieldError{Field: "Request." + m, Allowed: "a non-empty string",
				Message: "Request." + m + " is required: the create request's " + strings.ToLower(m)})
		}
	}
	return ref
}

// OrphanSuffix ends the id of the delete request reconcile records for the
// orphaned gateway of a create request announced failed: "<create request
// id>/orphan", from the create request's source. The delete path knows
// that deletion by it.
const OrphanSuffix = "/orphan"

// DeleteClientToken is the ClientToken DeleteVpnGateway is sent for the
// delete request id: derived from its identity alone, so that every
// redelivery and re-drive of it sends the same one and the API deletes
// once. "d-" keeps it apart from every create token.
func DeleteClientToken(id Identity) string {
	return DerivedTokenPrefix + "d-" + id.Key()[:40]
}
