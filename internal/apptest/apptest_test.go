package apptest_test

import (
	"context"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
)

// The twin wires a working application: a sample request creates one
// gateway in the emulator and is announced on the broker; the stream keeps
// it across a broker restart, and the environment a function process gets
// names the same parts.
func TestTwinRunsARequestThroughAndSurvivesABrokerRestart(t *testing.T) {
	s := apptest.New(t)
	sample, err := events.Samples.ReadFile("testdata/requested.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.ProvisionHandler()(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	if n := len(s.API.Gateways()); n != 1 {
		t.Fatalf("%d gateways, want 1", n)
	}
	if got := s.EventsOfType(events.TypeAccepted); len(got) != 1 {
		t.Fatalf("%d accepted events on the subscriber, want 1: %+v", len(got), got)
	}
	s.StopBroker()
	s.StartBroker()
	if s.Outages() != 1 {
		t.Fatalf("%d outages, want 1", s.Outages())
	}
	if got := s.StreamEvents(); len(got) != 1 || got[0].Type != events.TypeAccepted {
		t.Fatalf("stream after the restart holds %+v, want the accepted event", got)
	}
	env := map[string]bool{}
	for _, kv := range s.Environ() {
		env[kv] = true
	}
	for _, want := range []string{"VPNGW_QUEUE_URL=" + s.BrokerURL(), "VPNGW_VPC_ENDPOINT=" + s.APIURL, "VPNGW_STORE_URL=" + s.StoreURL} {
		if !env[want] {
			t.Errorf("Environ lacks %s: %v", want, s.Environ())
		}
	}
}

// WithEnv overrides and unsets the stack's variables; WithStore fails under
// CI=true when its server is not named (checked in testenv), and otherwise
// gives a store of the test's own.
func TestTwinOptions(t *testing.T) {
	s := apptest.New(t, apptest.WithoutApp(), apptest.WithEnv(map[string]string{"VPNGW_MIGRATE": "", "VPNGW_CONCURRENCY": "3"}))
	if s.App != nil {
		t.Fatal("WithoutApp built an application")
	}
	if _, ok := s.Env["VPNGW_MIGRATE"]; ok {
		t.Error(`WithEnv with "" left VPNGW_MIGRATE set`)
	}
	if s.Env["VPNGW_CONCURRENCY"] != "3" {
		t.Errorf("VPNGW_CONCURRENCY = %q, want 3", s.Env["VPNGW_CONCURRENCY"])
	}
	if s.Clock == nil || !s.Now().Equal(apptest.Start) {
		t.Errorf("the default clock is not the test clock at %s", apptest.Start)
	}
	if w := apptest.New(t, apptest.WithWallClock(), apptest.WithoutApp()); w.Clock != nil {
		t.Error("WithWallClock left a test clock")
	}
}
