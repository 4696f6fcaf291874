// Package policy is the operator's say over which gateways may be created:
// a YAML file of rules per requester (regions, VPCs, bandwidth, billing,
// SSL-VPN, tags, names, quotas), validated at start-up with errors that name
// the line, and applied to every request before any API call.
//
// Load, Parse and FromEnv build a Policy; Policy.Decide answers one request
// with a Decision (allowed or not, under which rule, dry run or not, every
// violation, the tags to add, the rule's quota). The first rule whose match
// fits the requester decides; a request no rule matches is denied. A rule
// without a caller pattern takes only the event bus's requests, one with a
// caller pattern only those of the webhook routes it names (Callers). A
// rule may also ask for what the platform stamped on a bus delivery
// (Origin: bus, route, account), which the producer cannot choose, or, on
// the webhook, for the name of the key that signed the request.
// IdentityTags gives the tags that trace a gateway back to its request.
//
// Decide counts nothing: a quota is applied where the request is recorded,
// in one atomic step of the store, and Decision.OverQuota turns the store's
// refusal into the denial. The provision use case imports it. It imports
// only the events contract and request's value sets, so it carries no SDK,
// driver or runtime.
package policy
