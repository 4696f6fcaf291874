package events

import (
	"encoding/json"

	"github.com/vpngw/vpngw/internal/textcut"
)

// MaxOutcomeBytes bounds every outcome event vpngw emits, the CloudEvent
// envelope included: 256 KiB, a quarter of the smallest default payload
// limit of the brokers vpngw publishes to (NATS's max_payload, 1 MiB), so an
// outcome is never refused for its size by a broker left at its defaults.
// Failed.Bounded and BatchCompleted.Bounded keep the outcomes with lists
// under it; the others hold only bounded values.
const MaxOutcomeBytes = 256 << 10

// MaxErrors bounds Failed.Errors; Failed.ErrorsOmitted counts the rest.
const MaxErrors = 50

// Limits, in bytes, on the strings of an outcome with a list. JSON may
// spell a byte in up to six (a control character as \u0000), so the
// worst case of every member together stays under MaxOutcomeBytes:
// identity 3 × 2 KiB and a message of 4 KiB (60 KiB escaped), a few short
// values, and a list of at most maxListBytes as encoded.
const (
	maxShortText   = 256       // codes, ids, a field's name and value
	maxFieldText   = 1024      // a field error's Allowed and Message, a failed item's Reason
	maxRefText     = 2 << 10   // each of RequestRef's Source, Id and Subject
	maxMessageText = 4 << 10   // Failed.Message
	maxListBytes   = 160 << 10 // Errors or FailedItems, as encoded
)

// clipEach cuts each of ss to at most n bytes, as textcut.Clip does.
func clipEach(n int, ss ...*string) {
	for _, s := range ss {
		*s = textcut.Clip(*s, n)
	}
}

// encodedLen is the length of v in JSON.
func encodedLen(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0 // plain structs of strings and numbers always encode
	}
	return len(b)
}

// bounded returns r with each member cut to maxRefText. A request's own
// source and id are far shorter (intake and the store refuse longer ones);
// the cut only keeps a pathological one from growing an outcome.
func (r RequestRef) bounded() RequestRef {
	clipEach(maxRefText, &r.Source, &r.EventID, &r.Subject)
	return r
}

// maxTagText bounds a tag's key and value: 128 characters of at most four
// bytes each. Bounded keeps at most maxTags tags.
const (
	maxTagText = 512
	maxTags    = 20
)

// Bounded returns a with every string cut (see Failed.Bounded): the values
// of a request that passed validation are far shorter, the cut only keeps
// a pathological one from growing the outcome past MaxOutcomeBytes.
func (a Accepted) Bounded() Accepted {
	a.Request = a.Request.bounded()
	clipEach(maxShortText, &a.VpnGatewayId, &a.RegionId, &a.VpcId, &a.ClientToken, &a.RequestId)
	a.Name = textcut.Clip(a.Name, maxFieldText)
	return a
}

// Bounded returns a with every string cut (see Accepted.Bounded).
func (a Active) Bounded() Active {
	a.Request = a.Request.bounded()
	clipEach(maxShortText, &a.VpnGatewayId, &a.RegionId, &a.VpcId, &a.Status, &a.BusinessStatus, &a.Spec,
		&a.InternetIp, &a.DisasterRecoveryInternetIp, &a.SslVpnInternetIp, &a.ChargeType)
	a.Name = textcut.Clip(a.Name, maxFieldText)
	return a
}

// Bounded returns v with every string cut, the echoed parameters' included,
// and at most maxTags tags (see Accepted.Bounded). A dry run echoes what the
// requester sent once it passed validation, which bounds each value; the
// cut keeps the bound even where a rule does not.
func (v Validated) Bounded() Validated {
	v.Request = v.Request.bounded()
	p := &v.Parameters
	clipEach(maxShortText, &v.ClientToken, &p.RegionId, &p.VpcId, &p.InstanceChargeType, &p.VSwitchId, &p.VpnType,
		&p.ClientToken, &p.NetworkType, &p.DisasterRecoveryVSwitchId, &p.ResourceGroupId)
	p.Name = textcut.Clip(p.Name, maxFieldText)
	if len(p.Tags) > 0 {
		tags := make([]Tag, 0, min(len(p.Tags), maxTags))
		for _, t := range p.Tags[:min(len(p.Tags), maxTags)] {
			tags = append(tags, Tag{Key: textcut.Clip(t.Key, maxTagText), Value: textcut.Clip(t.Value, maxTagText)})
		}
		p.Tags = tags
	}
	return v
}
