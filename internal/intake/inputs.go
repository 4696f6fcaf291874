package intake

import "github.com/vpngw/vpngw/internal/provision"

// DryRunExtension is the CloudEvents extension attribute that marks one
// request as a dry run ("true"): it is validated and decided, and answered
// with io.vpngw.gateway.validated; nothing is created.
const DryRunExtension = "vpngwdryrun"

// Inputs hands items to the provision use case, whatever shape they arrived
// in. caller names the authenticated sender, for the policy ("" when the
// platform delivered the events itself).
func Inputs(items []Item, caller string) []provision.Input {
	in := make([]provision.Input, len(items))
	for i, it := range items {
		in[i] = provision.Input{
			Identity: it.Identity, Type: it.Type, Data: it.Data, TraceParent: it.TraceParent, Err: it.Err,
			Caller: caller, DryRun: it.Extensions[DryRunExtension] == "true", Raw: it.Raw,
		}
	}
	return in
}
