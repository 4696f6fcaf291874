// Package runtime holds the edges that run vpngw's handlers: Alibaba Cloud
// Function Compute (github.com/aliyun/fc-runtime-go-sdk), AWS Lambda
// (github.com/aws/aws-lambda-go), chosen by which runtime API variable the
// platform set. Each edge only translates: it puts the invocation's request id
// and credentials into the context and hands the payload to the same handler.
package runtime
