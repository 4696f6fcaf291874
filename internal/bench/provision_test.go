package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/store"
)

// invokeTimeout stands in for the function's timeout: the provision handler
// sizes its outbox budget from the deadline, as it does in Function Compute.
const invokeTimeout = 60 * time.Second

// sender sends one request, with event id id, and checks that it was
// accepted: recorded, a gateway created, the gateway id answered.
type sender func(ctx context.Context, id string) error

// provisionSender returns how a request reaches s's application: "inprocess"
// calls the function handler with the event as Function Compute hands it
// over; "http" posts it as a structured CloudEvent to the HTTP handler over
// loopback, as the local stack and an HTTP trigger receive it.
func provisionSender(tb testing.TB, s *stack, via string) sender {
	tb.Helper()
	switch via {
	case "inprocess":
		h := s.App.ProvisionHandler()
		return func(ctx context.Context, id string) error {
			out, err := h(ctx, requestEvent(id))
			if err != nil {
				return fmt.Errorf("request %s: %w", id, err)
			}
			resp, ok := out.(app.ProvisionResponse)
			if !ok {
				return fmt.Errorf("request %s: handler answered %T", id, out)
			}
			return checkAccepted(id, resp.Results)
		}
	case "http":
		srv := httptest.NewServer(s.App.HTTPHandler())
		s.Cleanup(srv.Close)
		client := srv.Client()
		return func(ctx context.Context, id string) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/", bytes.NewReader(requestEvent(id)))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/cloudevents+json")
			res, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("request %s: %w", id, err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				return fmt.Errorf("request %s: read answer: %w", id, err)
			}
			if res.StatusCode != http.StatusAccepted {
				return fmt.Errorf("request %s: HTTP %d: %s", id, res.StatusCode, body)
			}
			var resp app.ProvisionResponse
			if err := json.Unmarshal(body, &resp); err != nil {
				return fmt.Errorf("request %s: answer %s: %w", id, body, err)
			}
			return checkAccepted(id, resp.Results)
		}
	}
	tb.Fatalf("unknown way in %q", via)
	return nil
}

func checkAccepted(id string, rs []provision.Result) error {
	if len(rs) != 1 || rs[0].EventID != id || rs[0].State != store.Pending || !strings.HasPrefix(rs[0].VpnGatewayId, "vpn-") {
		return fmt.Errorf("request %s: results %+v, want one pending with a gateway id", id, rs)
	}
	return nil
}

// sdkCreator returns a function that creates one gateway with the SDK's
// typed CreateVpnGateway, the request vpngw would send for requestData.
func sdkCreator(tb testing.TB, emu *emulator) func(token string) (string, error) {
	client := sdkClient(tb)
	return func(token string) (string, error) {
		req := vpc.CreateCreateVpnGatewayRequest()
		req.Scheme, req.Domain = "http", emu.host()
		req.RegionId = benchRegion
		req.VpcId = benchVPC
		req.VSwitchId = benchVSwitch
		req.DisasterRecoveryVSwitchId = benchDRVSw
		req.Bandwidth = requests.NewInteger(benchBW)
		req.Name = benchName
		req.ClientToken = token
		resp, err := client.CreateVpnGateway(req)
		if err != nil {
			return "", fmt.Errorf("CreateVpnGateway %s: %w", token, err)
		}
		if !strings.HasPrefix(resp.VpnGatewayId, "vpn-") {
			return "", fmt.Errorf("CreateVpnGateway %s: answer has no gateway id: %s", token, resp.GetHttpContentString())
		}
		return resp.VpnGatewayId, nil
	}
}

// BenchmarkProvision: one valid request end to end per op, one after
// another: intake, validation, the record, CreateVpnGateway through the SDK,
// the state change with its outcome, and the outcome published to JetStream.
func BenchmarkProvision(b *testing.B) {
	for _, via := range []string{"inprocess", "http"} {
		b.Run(via, func(b *testing.B) {
			for _, kind := range []string{"sqlite", "postgres"} {
				b.Run(kind, func(b *testing.B) { benchProvision(b, via, kind) })
			}
		})
	}
}

func benchProvision(b *testing.B, via, storeKind string) {
	s := newStack(b, storeKind, nil)
	b.Cleanup(s.Close)
	send := provisionSender(b, s, via)
	run := runSeq.Add(1)
	ctx := context.Background()
	// The first request dials NATS, creates the stream and builds the first
	// SDK client: a warm instance has done that already.
	if err := sendOne(ctx, send, fmt.Sprintf("warm-%d", run)); err != nil {
		b.Fatal(err)
	}
	measureCreates(b, s.emu, run, func(id string) error { return sendOne(ctx, send, id) })
}

// measureCreates runs create once an iteration, with an id of the run's
// own, and reports the process's CPU, create's latencies, and the
// emulator's CreateVpnGateway calls and busy time per op.
func measureCreates(b *testing.B, emu *emulator, run int64, create func(id string) error) {
	before, busy := emu.api.Calls("CreateVpnGateway"), emu.busyTime()
	cpu := processCPU(b)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		t0 := time.Now()
		if err := create(fmt.Sprintf("bench-%d-%d", run, i)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportCPU(b, cpu)
	reportLatencies(b, lat)
	b.ReportMetric(float64(emu.api.Calls("CreateVpnGateway")-before)/float64(b.N), "api-calls/op")
	b.ReportMetric(float64(emu.busyTime()-busy)/float64(b.N), "api-ns/op")
}

func sendOne(ctx context.Context, send sender, id string) error {
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	return send(ctx, id)
}

// BenchmarkBareSDKCreate: what the same machine does with no vpngw at all, a
// loop of the SDK's typed CreateVpnGateway against the same emulator, each
// with a ClientToken of its own.
func BenchmarkBareSDKCreate(b *testing.B) {
	emu := newEmulator()
	b.Cleanup(emu.Close)
	create := sdkCreator(b, emu)
	run := runSeq.Add(1)
	if _, err := create(fmt.Sprintf("warm-%d", run)); err != nil {
		b.Fatal(err)
	}
	measureCreates(b, emu, run, func(id string) error { _, err := create(id); return err })
}

// concurrentSenders is how many requests the concurrent variants keep in
// flight: an instance's share of a burst (Function Compute hands one
// instance several invocations at once when its instance concurrency is
// above 1).
const concurrentSenders = 8

// BenchmarkProvisionConcurrent is BenchmarkProvision with concurrentSenders
// requests in flight at once: the rate an instance sustains, and the latency
// each request sees meanwhile.
func BenchmarkProvisionConcurrent(b *testing.B) {
	for _, via := range []string{"inprocess", "http"} {
		b.Run(via, func(b *testing.B) {
			for _, kind := range []string{"sqlite", "postgres"} {
				b.Run(kind, func(b *testing.B) {
					s := newStack(b, kind, nil)
					b.Cleanup(s.Close)
					send := provisionSender(b, s, via)
					run := runSeq.Add(1)
					if err := sendOne(context.Background(), send, fmt.Sprintf("warm-%d", run)); err != nil {
						b.Fatal(err)
					}
					runConcurrently(b, s.emu, func(i int) error {
						return sendOne(context.Background(), send, fmt.Sprintf("bench-%d-%d", run, i))
					})
				})
			}
		})
	}
}

// BenchmarkBareSDKCreateConcurrent is BenchmarkBareSDKCreate with
// concurrentSenders loops at once, each with its own SDK client (the SDK's
// client is not safe for concurrent calls).
func BenchmarkBareSDKCreateConcurrent(b *testing.B) {
	emu := newEmulator()
	b.Cleanup(emu.Close)
	creators := make(chan func(string) (string, error), concurrentSenders)
	for range concurrentSenders {
		creators <- sdkCreator(b, emu)
	}
	run := runSeq.Add(1)
	runConcurrently(b, emu, func(i int) error {
		create := <-creators
		defer func() { creators <- create }()
		_, err := create(fmt.Sprintf("bench-%d-%d", run, i))
		return err
	})
}

// runConcurrently runs op b.N times, concurrentSenders at a time, and
// reports the rate and the latencies.
func runConcurrently(b *testing.B, emu *emulator, op func(i int) error) {
	b.Helper()
	before, busy := emu.api.Calls("CreateVpnGateway"), emu.busyTime()
	lat := make([][]time.Duration, concurrentSenders)
	errs := make([]error, concurrentSenders)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range concurrentSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > b.N {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					errs[w] = err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	reportLatencies(b, slices.Concat(lat...))
	b.ReportMetric(float64(emu.api.Calls("CreateVpnGateway")-before)/float64(b.N), "api-calls/op")
	b.ReportMetric(float64(emu.busyTime()-busy)/float64(b.N), "api-ns/op")
}
