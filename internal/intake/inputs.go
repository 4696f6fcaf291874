package intake

import (
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/provision"
)

// DryRunExtension is the CloudEvents extension attribute that marks one
// request as a dry run ("true"): it is validated and decided, and answered
// with io.vpngw.gateway.validated; nothing is created.
const DryRunExtension = "vpngwdryrun"

// Extension attributes the platform stamps on a CloudEvent it delivers.
const (
	// BusExtension is the Alibaba Cloud EventBridge bus the event was put
	// on, which EventBridge adds to every event it delivers.
	BusExtension = "aliyuneventbusname"
	// RouteExtension is the constant an EventBridge rule's target template
	// adds (docs/DEPLOY.md): it tells which rule, and so which producer's
	// bus, delivered the event.
	RouteExtension = "vpngwroute"
)

// maxOriginValue bounds an origin attribute: a bus name has at most 127
// characters, an AWS account 12. A longer value, or one with a character
// other than printable ASCII, is not the platform's and is dropped, so that
// no rule asking for one matches (and the record's origin column keeps its
// bound).
const maxOriginValue = 255

// Inputs hands items that a sender wrote itself (a webhook request, the
// plain HTTP intake) to the provision use case. caller names the
// authenticated sender and key its webhook key, for the policy ("" for the
// plain HTTP intake). The items' Origin is dropped: a sender cannot claim a
// bus, a route or an account.
func Inputs(items []Item, caller, key string) []provision.Input {
	in := make([]provision.Input, len(items))
	for i, it := range items {
		in[i] = input(it)
		in[i].Caller, in[i].Key = caller, key
	}
	return in
}

// BusInputs hands the items of an event-bus delivery (a Function Compute or
// Lambda event invocation by EventBridge) to the provision use case, with
// what the platform stamped on them as the requester's Origin.
func BusInputs(items []Item) []provision.Input {
	in := make([]provision.Input, len(items))
	for i, it := range items {
		in[i] = input(it)
		in[i].Origin = it.Origin
	}
	return in
}

func input(it Item) provision.Input {
	return provision.Input{
		Identity: it.Identity, Type: it.Type, Data: it.Data, TraceParent: it.TraceParent, Err: it.Err,
		DryRun: it.Extensions[DryRunExtension] == "true", Raw: it.Raw,
	}
}

// stamped keeps a value that fits an origin attribute.
func stamped(v string) string {
	if len(v) > maxOriginValue {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return ""
		}
	}
	return v
}

// cloudEventOrigin is what Alibaba Cloud EventBridge stamps on a CloudEvent.
func cloudEventOrigin(ext map[string]string) policy.Origin {
	return policy.Origin{Bus: stamped(ext[BusExtension]), Route: stamped(ext[RouteExtension])}
}
