package intake

import "github.com/vpngw/vpngw/internal/policy"

// DryRunExtension is the CloudEvents extension attribute that marks one
// request as a dry run ("true", in any case): it is validated and decided,
// and answered with io.vpngw.gateway.validated; nothing is created. "false"
// is a real request; any other value is refused (see checkDryRun).
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

// Bus says which event bus delivered an invocation, and so which of an
// item's origin attributes that bus stamped.
type Bus int

const (
	// AnyBus keeps every origin attribute: the local stack, where no
	// platform delivers.
	AnyBus Bus = iota
	// AlibabaBus is Alibaba Cloud EventBridge delivering to Function
	// Compute: it stamps the bus name and the rule's route, never an AWS
	// account.
	AlibabaBus
	// AmazonBus is Amazon EventBridge delivering to Lambda: it sets the
	// envelope's account, and no Alibaba bus or route (a CloudEvent's
	// aliyuneventbusname there is whatever the producer wrote).
	AmazonBus
)

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
