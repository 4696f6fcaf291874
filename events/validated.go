package events

// Validated is the data of io.vpngw.gateway.validated, the answer to a dry
// run: the request passed every check, and nothing was created.
type Validated struct {
	Request RequestRef `json:"Request"`
	// Parameters is the request with the API's defaults written out
	// (request.Normalize): the gateway a real run would ask for.
	Parameters GatewayRequest `json:"Parameters"`
	// ClientToken is the idempotency token a real run would send.
	ClientToken string `json:"ClientToken,omitempty"`
	// WouldCreate is true when a real run would call CreateVpnGateway; false
	// when the request is already recorded (a redelivery), so a real run
	// would answer from the record instead of creating another gateway.
	WouldCreate bool `json:"WouldCreate"`
}
