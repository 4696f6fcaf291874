// Package runtime holds the edges that run vpngw's handlers: Alibaba Cloud
// Function Compute (github.com/aliyun/fc-runtime-go-sdk), AWS Lambda
// (github.com/aws/aws-lambda-go), chosen by which runtime API variable the
// platform set, and plain HTTP. Each edge only translates: it puts the
// invocation's request id and credentials into the context and hands the
// payload to the same handler.
//
// The handlers themselves are edges too (edges.go): an event invocation
// into the provision use case (ProvisionEvents), a timer or scheduled event
// into a reconcile tick (ReconcileTimer, ReconcileOptions), and CloudEvents
// over HTTP with its status mapping and the GET /requests read model
// (HTTPIntake). They name the use cases' types and declare the ports they
// call; internal/app passes the services in.
package runtime
