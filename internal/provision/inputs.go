package provision

import (
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
)

// Inputs hands items that a sender wrote itself (a webhook request, the
// plain HTTP intake) to the provision use case. caller names the
// authenticated sender and key its webhook key, for the policy ("" for the
// plain HTTP intake). The items' Origin is dropped: a sender cannot claim a
// bus, a route or an account.
func Inputs(items []intake.Item, caller, key string) []Input {
	in := make([]Input, len(items))
	for i, it := range items {
		in[i] = input(it)
		in[i].Caller, in[i].Key = caller, key
	}
	return in
}

// BusInputs hands the items of an event-bus delivery (a Function Compute or
// Lambda event invocation by EventBridge) to this use case, with
// what that bus stamped on them as the requester's Origin.
func BusInputs(items []intake.Item, bus intake.Bus) []Input {
	in := make([]Input, len(items))
	for i, it := range items {
		in[i] = input(it)
		in[i].Origin = it.Origin
		switch bus {
		case intake.AlibabaBus:
			in[i].Origin.Account = ""
		case intake.AmazonBus:
			in[i].Origin.Bus, in[i].Origin.Route = "", ""
		}
	}
	return in
}

func input(it intake.Item) Input {
	return Input{
		Identity: it.Identity, Type: it.Type, Data: it.Data, TraceParent: it.TraceParent, Err: it.Err,
		DryRun: it.Extensions[intake.DryRunExtension] == "true", Raw: it.Raw,
		Expires: it.Extensions[request.ExpiresExtension], EventTime: it.Time,
	}
}
