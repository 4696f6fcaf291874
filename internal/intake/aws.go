package intake

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/vpngw/vpngw/events"
)

// Members of an Amazon EventBridge event, the shape EventBridge hands to an
// AWS Lambda target (aws-lambda-go's events.EventBridgeEvent).
const (
	awsVersion    = "version"
	awsID         = "id"
	awsDetailType = "detail-type"
	awsSource     = "source"
	awsAccount    = "account"
	awsTime       = "time"
	awsRegion     = "region"
	awsResources  = "resources"
	awsDetail     = "detail"
)

// Extension attributes under which an Amazon EventBridge event's account and
// region are kept in Item.Extensions. They follow the aliyun* attributes
// that Alibaba Cloud EventBridge adds, and are valid CloudEvents attribute
// names, so that an item reads the same when written out as a CloudEvent.
const (
	AWSAccountExtension = "awsaccount"
	AWSRegionExtension  = "awsregion"
)

// wantDetail is what every detail problem says is allowed.
const wantDetail = "a JSON object of CreateVpnGateway parameters"

// parseAnyObject reads one JSON object of a payload: an Amazon EventBridge
// event when it has the members detail-type and detail and no specversion,
// and a structured CloudEvent otherwise. The object is decoded once either
// way.
//
// The test is on member names, which are case-sensitive here as in both
// formats: "detail-type" cannot be a CloudEvents attribute (a hyphen is not
// allowed in one), and every CloudEvent has specversion, so neither format
// can be taken for the other. An object with neither marker is read as a
// CloudEvent, whose rules then name what is missing.
func parseAnyObject(raw []byte, index int) Item {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return parseObject(raw, index)
	}
	return anyObject(m, index)
}

// anyObject is parseAnyObject for the members m of an object already
// decoded.
func anyObject(m map[string]json.RawMessage, index int) Item {
	if isAWSEvent(m) {
		return buildAWS(m, index)
	}
	return build(envelope{attrs: m, src: fromJSON, index: index})
}

// isAWSEvent reports whether the members m are those of an Amazon
// EventBridge event rather than a CloudEvent.
func isAWSEvent(m map[string]json.RawMessage) bool {
	_, hasType := m[awsDetailType]
	_, hasDetail := m[awsDetail]
	_, hasSpec := m[attrSpecVersion]
	return hasType && hasDetail && !hasSpec
}

// buildAWS checks the members of one Amazon EventBridge event and assembles
// its Item:
//
//   - Identity: Source = source, ID = id, Subject = the first of resources
//     ("" when there is none). EventBridge gives the id when the event is
//     put and keeps it through its own retries and Lambda's, so every
//     redelivery is the same request. A producer that calls PutEvents again
//     makes a new event with a new id; such a producer sets ClientToken in
//     detail, which CreateVpnGateway then honours.
//   - Type = detail-type, verbatim: a producer puts a request with the
//     detail-type io.vpngw.gateway.requested, and the caller decides which
//     types it handles, as for a CloudEvent's type.
//   - Data = detail, which must be a JSON object: the request's
//     CreateVpnGateway parameters themselves. A CloudEvent as detail is
//     refused with a message saying so; a rule that forwards a CloudEvent
//     put as detail uses InputPath $.detail, so that the function is handed
//     the CloudEvent itself.
//   - Time = time, verbatim; account and region go to Extensions under
//     AWSAccountExtension and AWSRegionExtension. The account, which
//     EventBridge sets to the account that put the event, is also the
//     item's Origin.Account.
//   - version is checked to be a string and not kept. Any other member
//     (replay-name, on a replayed event) is listed in Ignored.
//
// EventBridge carries no trace context in the event, so TraceParent stays
// empty.
func buildAWS(m map[string]json.RawMessage, index int) Item {
	it := Item{Index: index}
	var p problems
	str := func(name string, required bool, allowed string) (string, bool) {
		return readString(&p, m, name, required, allowed)
	}

	it.Identity.EventID, _ = str(awsID, true, "a non-empty string")
	it.Identity.Source, _ = str(awsSource, true, "a non-empty string")
	it.Type, _ = str(awsDetailType, true, `a non-empty string such as "`+events.TypeRequested+`"`)
	it.Time, _ = str(awsTime, false, "a string (RFC 3339 timestamp)")
	it.Time = checkTime(&p, awsTime, it.Time)
	str(awsVersion, false, `a string ("0")`)
	it.Identity.Subject = firstResource(&p, m[awsResources])
	for _, x := range []struct{ member, ext string }{
		{awsAccount, AWSAccountExtension},
		{awsRegion, AWSRegionExtension},
	} {
		if v, ok := str(x.member, false, "a string"); ok {
			if it.Extensions == nil {
				it.Extensions = make(map[string]string, 2)
			}
			it.Extensions[x.ext] = v
		}
	}
	it.Origin.Account = stamped(it.Extensions[AWSAccountExtension])
	it.Data = detailData(&p, m[awsDetail])

	for name := range m {
		switch name {
		case awsVersion, awsID, awsDetailType, awsSource, awsAccount, awsTime, awsRegion, awsResources, awsDetail:
		default:
			it.Ignored = append(it.Ignored, name)
		}
	}
	sort.Strings(it.Ignored)

	if p.any() {
		it.Err = p.err()
		it.Data = nil
	}
	return it
}

// firstResource reads resources, an optional array of strings (ARNs), and
// returns its first element.
func firstResource(p *problems, raw json.RawMessage) string {
	if raw == nil || isNull(raw) {
		return ""
	}
	var rs []json.RawMessage
	if err := json.Unmarshal(raw, &rs); err != nil {
		p.add(awsResources, "", "an array of strings (ARNs)",
			"%s: %s; want an array of strings (ARNs)", awsResources, describeJSON(raw))
		return ""
	}
	first := ""
	for i, r := range rs {
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			p.add(awsResources, "", "an array of strings (ARNs)",
				"%s[%d]: %s; want a string (ARN)", awsResources, i, describeJSON(r))
			return ""
		}
		if i == 0 {
			first = s
		}
	}
	return first
}

// detailData checks that detail is a JSON object of request parameters and
// returns its bytes, trimmed and copied. Unlike a CloudEvent's data, a JSON
// string is not unwrapped: EventBridge's PutEvents accepts only an object as
// Detail, so a string here was never put by EventBridge.
func detailData(p *problems, raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		p.add(awsDetail, "", wantDetail, "%s: missing; want %s", awsDetail, wantDetail)
		return nil
	}
	if raw[0] != '{' {
		p.add(awsDetail, "", wantDetail, "%s: %s; want %s", awsDetail, describeJSON(raw), wantDetail)
		return nil
	}
	var inner map[string]json.RawMessage
	if json.Unmarshal(raw, &inner) == nil {
		if _, ok := inner[attrSpecVersion]; ok {
			p.add(awsDetail, "", wantDetail,
				"%s: holds a CloudEvent (it has %s); want the request's CreateVpnGateway parameters as detail, "+
					"or a rule with InputPath $.detail so that the function is handed the CloudEvent itself",
				awsDetail, attrSpecVersion)
			return nil
		}
	}
	return bytes.Clone(raw)
}
