package events

// Event types, as they appear in a CloudEvent's "type" attribute.
const (
	// TypeRequested asks for one VPN gateway; data is a GatewayRequest.
	TypeRequested = "io.vpngw.gateway.requested"
	// TypeAccepted says CreateVpnGateway was accepted; data is Accepted.
	TypeAccepted = "io.vpngw.gateway.accepted"
	// TypeActive says the gateway is ready to use; data is Active.
	TypeActive = "io.vpngw.gateway.active"
	// TypeFailed says the request will not produce a gateway; data is Failed.
	TypeFailed = "io.vpngw.gateway.failed"
	// TypeValidated answers a dry run: the request passed every check and
	// this is what would be created; data is Validated.
	TypeValidated = "io.vpngw.gateway.validated"
)

// Source is the CloudEvents "source" of every event vpngw emits.
const Source = "/vpngw"

// ContentType is the data content type of every event vpngw emits.
const ContentType = "application/json"

// RequestRef names the request event an outcome answers: its CloudEvents
// source and id (unique together), and its subject when it had one.
type RequestRef struct {
	Source  string `json:"Source"`
	EventID string `json:"Id"`
	Subject string `json:"Subject,omitempty"`
}
