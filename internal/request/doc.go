// Package request is the gateway request: it decodes the data of an
// io.vpngw.gateway.requested event strictly (Decode), checks every rule the
// CreateVpnGateway API reference states before any API call is made
// (Validate), and derives the request's identity and idempotency token
// (Identity, ClientToken).
//
// Parse is the one entry point most callers need: Decode then Validate, with
// every problem reported together in an *Error whose FieldErrors name the API
// parameter at fault, the value given and what is allowed.
//
// The provision use case imports it to admit or reject a request; the VPC
// emulator (internal/vpcsim) and the JSON Schema tests in events import its
// value sets (PublicBandwidths, DualTunnelRegions, ...) so that all three agree
// on what the API accepts. It imports only the events contract.
package request
