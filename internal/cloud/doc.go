// Package cloud is what the use cases know of the Alibaba Cloud VPC API: a
// gateway as DescribeVpnGateways reports it, a page and a filter of that
// listing, an API failure classified as permanent, transient or throttled
// (Error, IsTransient), and the credentials an invocation signs with
// (WithCredentials). It imports no SDK: reconcile, the webhook and the runtime
// edges depend on these types alone.
//
// Package vpcclient calls the API through the real SDK and returns these
// types; the composition root (internal/app) builds it.
package cloud
