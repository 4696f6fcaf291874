package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/logging"
)

// Handler is one function's logic, whatever runtime invokes it. Its result is
// encoded as JSON; an error fails the invocation so the platform retries it.
type Handler func(ctx context.Context, payload json.RawMessage) (any, error)

// Environment variables that say which platform runs the process.
const (
	EnvFC     = "FC_RUNTIME_API"
	EnvLambda = "AWS_LAMBDA_RUNTIME_API"
)

// ErrNoRuntime: the process was started outside a function runtime.
var ErrNoRuntime = errors.New("neither " + EnvFC + " (Function Compute) nor " + EnvLambda + " (AWS Lambda) is set: this binary runs inside a function runtime; use `make run` for the local stack")

// Start serves invocations from the platform the environment names, forever.
// It returns only ErrNoRuntime.
func Start(h Handler, log *slog.Logger) error {
	switch {
	case os.Getenv(EnvFC) != "":
		fc.Start(FC(h, log))
	case os.Getenv(EnvLambda) != "":
		lambda.Start(Lambda(h, log))
	}
	return ErrNoRuntime
}

// Platform names the function platform that invoked a handler.
type Platform string

const (
	// FunctionCompute is Alibaba Cloud Function Compute.
	FunctionCompute Platform = "fc"
	// AWSLambda is AWS Lambda.
	AWSLambda Platform = "lambda"
)

type platformKey struct{}

// WithPlatform records in ctx which platform invoked the handler.
func WithPlatform(ctx context.Context, p Platform) context.Context {
	return context.WithValue(ctx, platformKey{}, p)
}

// PlatformFrom is the platform the runtime adapter recorded in ctx, "" when
// no adapter ran (the local stack, tests calling a handler directly).
func PlatformFrom(ctx context.Context) Platform {
	p, _ := ctx.Value(platformKey{}).(Platform)
	return p
}

// FC adapts h to Function Compute: the request id for logs, and the function
// role's STS credentials (fresh with every invocation) for API calls.
func FC(h Handler, log *slog.Logger) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		ctx = WithPlatform(ctx, FunctionCompute)
		if fctx, ok := fccontext.FromContext(ctx); ok {
			ctx = logging.WithRequestID(ctx, fctx.RequestID)
			c := fctx.Credentials
			if c.AccessKeyId != "" && c.AccessKeySecret != "" {
				ctx = cloud.WithCredentials(ctx, cloud.Credentials{
					AccessKeyID: c.AccessKeyId, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken,
				})
			}
			if fctx.RetryCount > 0 {
				log.InfoContext(ctx, "redelivered invocation", "retry_count", fctx.RetryCount)
			}
		}
		return invoke(ctx, h, payload, log)
	}
}

// Lambda adapts h to AWS Lambda. Alibaba credentials come from the
// environment there (the client's fallback), as Lambda has no Alibaba role.
func Lambda(h Handler, log *slog.Logger) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		ctx = WithPlatform(ctx, AWSLambda)
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			ctx = logging.WithRequestID(ctx, lc.AwsRequestID)
		}
		return invoke(ctx, h, payload, log)
	}
}

// invoke runs h and turns a panic into a failed invocation instead of a dead
// instance, so the platform retries the event and the other invocations
// sharing the process carry on.
func invoke(ctx context.Context, h Handler, payload json.RawMessage, log *slog.Logger) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			log.ErrorContext(ctx, "handler panicked", "panic", r)
			out, err = nil, errors.New("internal error: handler panicked")
		}
	}()
	out, err = h(ctx, payload)
	if err != nil {
		log.ErrorContext(ctx, "invocation failed", "err", err)
	}
	return out, err
}
