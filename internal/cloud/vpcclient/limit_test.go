package vpcclient_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// Two clients, as two function instances, share one database's call queue:
// together they make their calls at the rate, not at twice it.
func TestSharedLimiterSpansInstances(t *testing.T) {
	// The store's clock stands still, so every reservation lands one interval
	// after the one before and the queue's length says how many were made.
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "slots.db")
	ctx := context.Background()
	open := func() *sqlstore.Store {
		s, err := sqlstore.OpenSQL(ctx, dbURL, sqlstore.WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	const perSec, each = 100.0, 5
	interval := time.Duration(float64(time.Second) / perSec)
	api := vpcsim.New()
	var clients []*vpcclient.Client
	for range 2 {
		clients = append(clients, newClient(t, api, vpcclient.Config{
			Rates:   map[string]float64{vpcclient.ActionDescribeVpnGateways: perSec},
			Limiter: vpcclient.SharedLimiter{Slots: open()},
		}))
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for range each {
				if _, err := c.DescribeVpnGateways(ctx, "cn-hangzhou", cloud.Filter{}, 1, 50); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := api.Calls(vpcclient.ActionDescribeVpnGateways); got != 2*each {
		t.Fatalf("emulator saw %d calls, want %d", got, 2*each)
	}
	// 10 calls took 10 starts of the one queue: the next is 10 intervals on.
	wait, ok, err := open().ReserveSlot(ctx, "cn-hangzhou/"+vpcclient.ActionDescribeVpnGateways, interval, time.Time{})
	if err != nil || !ok || wait != 2*each*interval {
		t.Fatalf("next start in %s (reserved %t, %v), want %s", wait, ok, err, 2*each*interval)
	}
	// The last call waited for the 10th start, 9 intervals after the first.
	if el := time.Since(start); el < (2*each-1)*interval {
		t.Fatalf("10 calls at %v/s took %s", perSec, el)
	}
	// Another region is another queue.
	if wait, _, _ := open().ReserveSlot(ctx, "cn-shanghai/"+vpcclient.ActionDescribeVpnGateways, interval, time.Time{}); wait != 0 {
		t.Fatalf("cn-shanghai's next start in %s, want now", wait)
	}
}

// A call whose start would come after the deadline is not made and not
// queued: the caller learns at once, with a transient error.
func TestSharedLimiterRespectsTheDeadline(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQL(ctx, "sqlite://"+filepath.Join(t.TempDir(), "slots.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	api := vpcsim.New()
	c := newClient(t, api, vpcclient.Config{
		Rates:   map[string]float64{vpcclient.ActionDescribeVpnGateways: 0.5}, // a start every 2 s
		Limiter: vpcclient.SharedLimiter{Slots: s},
	})
	if _, err := c.DescribeVpnGateways(ctx, "cn-hangzhou", cloud.Filter{}, 1, 50); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = c.DescribeVpnGateways(short, "cn-hangzhou", cloud.Filter{}, 1, 50)
	var ce *cloud.Error
	if !errors.As(err, &ce) || !cloud.IsTransient(err) {
		t.Fatalf("err = %v, want a transient *cloud.Error", err)
	}
	// Refused at once for the slot, not cut short while waiting for it.
	if !strings.Contains(err.Error(), "after the invocation's deadline") || short.Err() != nil {
		t.Errorf("err = %v (context: %v), want the slot refused before the deadline", err, short.Err())
	}
	if got := api.Calls(vpcclient.ActionDescribeVpnGateways); got != 1 {
		t.Fatalf("emulator saw %d calls, want 1", got)
	}
	// Nothing was queued by the refused call: the next start is still the
	// one 2 s after the first call, not 4 s.
	wait, _, err := s.ReserveSlot(ctx, "cn-hangzhou/"+vpcclient.ActionDescribeVpnGateways, 2*time.Second, time.Time{})
	if err != nil || wait > 2*time.Second {
		t.Fatalf("next start in %s (%v), want within 2s", wait, err)
	}
}

// A queue out of reach fails the call as transient without calling the API.
func TestSharedLimiterStoreDown(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQL(ctx, "sqlite://"+filepath.Join(t.TempDir(), "slots.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	api := vpcsim.New()
	c := newClient(t, api, vpcclient.Config{
		Rates:   map[string]float64{vpcclient.ActionCreateVpnGateway: 1},
		Limiter: vpcclient.SharedLimiter{Slots: s},
	})
	_, err = c.CreateVpnGateway(ctx, request(), "vpngw-token-down")
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Code != "RateLimiter" || ce.Action != vpcclient.ActionCreateVpnGateway || !cloud.IsTransient(err) {
		t.Fatalf("err = %#v, want a transient RateLimiter error of CreateVpnGateway", err)
	}
	if n := api.Calls(vpcclient.ActionCreateVpnGateway); n != 0 {
		t.Fatalf("emulator saw %d creates, want 0", n)
	}
}

// BenchmarkLimiterWait is what one API call pays the limiter when the rate
// leaves room (1e9 calls a second): the instance's token bucket against a
// reservation in the shared queue, on SQLite and, when
// VPNGW_TEST_POSTGRES_URL is set, on PostgreSQL.
func BenchmarkLimiterWait(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, l vpcclient.Limiter) {
		for b.Loop() {
			if err := l.Wait(ctx, "cn-hangzhou/CreateVpnGateway", 1e9); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("instance", func(b *testing.B) { run(b, vpcclient.NewInstanceLimiter()) })
	b.Run("shared-sqlite", func(b *testing.B) {
		s, err := sqlstore.OpenSQL(ctx, "sqlite://"+filepath.Join(b.TempDir(), "slots.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, vpcclient.SharedLimiter{Slots: s})
	})
	b.Run("shared-postgres", func(b *testing.B) {
		s, err := sqlstore.OpenSQL(ctx, testenv.URL(b, testenv.PostgresEnv))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, vpcclient.SharedLimiter{Slots: s})
	})
}

// A rate that changes (a learned rate, lowered by a throttle or raised a
// step by probing) keeps the calls' spacing: the calls already waiting
// keep their starts and the next call comes one interval at the new rate
// after the last. A limiter made anew at each change started with a free
// call, beside the calls still waiting on the old one: at exactly the
// quota, the probe's step back up to it sent a burst into one of the
// API's minutes, which throttled it and doubled the hold.
func TestInstanceLimiterKeepsItsSpacingWhenTheRateChanges(t *testing.T) {
	l := vpcclient.NewInstanceLimiter()
	ctx := context.Background()
	const key = "cn-hangzhou/CreateVpnGateway"
	var (
		mu     sync.Mutex
		starts []time.Time
	)
	wait := func(perSec float64) {
		if err := l.Wait(ctx, key, perSec); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
	}
	wait(10)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { wait(10) }) // waiting at the old rate
	}
	time.Sleep(20 * time.Millisecond)
	for range 3 {
		wg.Go(func() { wait(11) }) // the rate probed a step up
	}
	wg.Wait()
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	// 10 and 11 calls a second: 100 and 91 ms apart; a little less for
	// timers that fire early.
	const least = 80 * time.Millisecond
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < least {
			t.Errorf("calls %d and %d started %s apart, want at least %s (10 and then 11 calls a second)", i, i+1, gap.Round(time.Millisecond), least)
		}
	}
}

// A rate lowered (by a throttle) spaces the very next call at the new
// rate from the last start, not at the old one.
func TestInstanceLimiterLowersTheNextCallsSpacing(t *testing.T) {
	l := vpcclient.NewInstanceLimiter()
	ctx := context.Background()
	const key = "cn-hangzhou/CreateVpnGateway"
	if err := l.Wait(ctx, key, 100); err != nil {
		t.Fatal(err)
	}
	first := time.Now()
	if err := l.Wait(ctx, key, 2); err != nil {
		t.Fatal(err)
	}
	if gap := time.Since(first); gap < 450*time.Millisecond {
		t.Errorf("after the rate fell from 100 to 2 a second the next call started %s after the last, want about 500ms", gap.Round(time.Millisecond))
	}
}
