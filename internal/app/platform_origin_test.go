package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/runtime"
	"github.com/vpngw/vpngw/internal/store"
)

// invokeOn hands payload to the provision handler as the platform's runtime
// adapter does.
func (s *stack) invokeOn(platform string, payload []byte) app.ProvisionResponse {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	var h runtime.Handler
	switch platform {
	case "lambda":
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-" + platform})
		h = runtime.Lambda(s.App.ProvisionHandler(), log)
	default:
		ctx = fccontext.NewContext(ctx, &fccontext.FcContext{RequestID: "req-" + platform})
		h = runtime.FC(s.App.ProvisionHandler(), log)
	}
	out, err := h(ctx, json.RawMessage(payload))
	if err != nil {
		s.t.Fatalf("%s invocation: %v", platform, err)
	}
	return out.(app.ProvisionResponse)
}

// Each platform stamps its own attributes: Amazon EventBridge the account,
// Alibaba Cloud EventBridge the bus (and the rule's route). On Lambda a
// CloudEvent claiming an Alibaba bus (put by any AWS producer, forwarded by a
// rule with InputPath $.detail) claims nothing; on Function Compute an
// AWS-shaped event claiming an account claims nothing.
func TestOriginIsWhatTheInvokingPlatformStamps(t *testing.T) {
	s := newStack(t, apptest.WithEnv(originEnv(t)))
	const src = "https://ci.example.com/platform"

	denied := func(name string, resp app.ProvisionResponse) {
		t.Helper()
		if len(resp.Results) != 1 || resp.Results[0].Code != events.CodePolicyDenied {
			t.Errorf("%s: %+v, want PolicyDenied", name, resp)
		}
	}
	denied("Lambda, CloudEvent claiming bus vpngw-ci", s.invokeOn("lambda", eventOnBus("lambda-bus", src, "vpngw-ci")))
	denied("Function Compute, event claiming account 123456789012", s.invokeOn("fc", awsEvent("fc-account", src, "123456789012")))
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for attributes the invoking platform did not stamp", n)
	}

	if resp := s.invokeOn("lambda", awsEvent("lambda-account", src, "123456789012")); resp.Results[0].State != store.Pending {
		t.Errorf("Lambda, account 123456789012: %+v, want pending", resp)
	}
	if resp := s.invokeOn("fc", eventOnBus("fc-bus", src, "vpngw-ci")); resp.Results[0].State != store.Pending {
		t.Errorf("Function Compute, bus vpngw-ci: %+v, want pending", resp)
	}
}
