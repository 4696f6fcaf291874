// Package vpcclient calls the Alibaba Cloud VPC API (2016-04-28) through the
// real github.com/aliyun/alibaba-cloud-sdk-go core client: CreateVpnGateway and
// DescribeVpnGateways, with per-invocation credentials, a client-side rate
// limit per region and action, retries with jittered backoff for what the API
// says may succeed later, and every failure classified (as a *cloud.Error) as
// permanent, transient or throttled so that use cases decide without reading
// SDK error codes.
//
// It uses the SDK's generic RPC request rather than the generated services/vpc
// package: the same signing and transport, at a fraction of the binary size.
//
// It is the only package that imports the SDK (deploy's tests check this, so
// that Actions is the whole list the RAM policy grants). The provision and
// reconcile use cases consume it through interfaces they declare; the
// composition root (internal/app) builds it.
package vpcclient
