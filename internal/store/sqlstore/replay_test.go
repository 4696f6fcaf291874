package sqlstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/testenv"
)

// testFirstUse is the replay guard's contract, run against every backend.
func testFirstUse(t *testing.T, rawURL string) {
	clock := testclock.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	s := openStore(t, rawURL, sqlstore.WithClock(clock.Now))
	ctx := context.Background()
	first := func(key string, until time.Time) bool {
		t.Helper()
		ok, err := s.FirstUse(ctx, key, until)
		if err != nil {
			t.Fatalf("FirstUse(%q): %v", key, err)
		}
		return ok
	}
	// race makes n uses of key at once and counts those that saw a first use.
	race := func(t *testing.T, key string, until time.Time, n int) int32 {
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			wins  atomic.Int32
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := s.FirstUse(ctx, key, until)
				if err != nil {
					t.Errorf("FirstUse: %v", err)
					return
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		return wins.Load()
	}

	t.Run("second use is refused until the key expires", func(t *testing.T) {
		until := clock.Now().Add(5 * time.Minute)
		if !first("v1:aaaa", until) {
			t.Fatal("first use of a new key = false")
		}
		if first("v1:aaaa", until) {
			t.Fatal("second use = true")
		}
		// A later until does not make a current key usable again.
		if first("v1:aaaa", until.Add(time.Hour)) {
			t.Fatal("use with a later until = true")
		}
		if !first("v1:bbbb", until) {
			t.Fatal("another key is refused")
		}
		clock.Advance(5*time.Minute - time.Second)
		if first("v1:aaaa", until) {
			t.Fatal("use a second before the key expires = true")
		}
		clock.Advance(time.Second)
		if !first("v1:aaaa", clock.Now().Add(5*time.Minute)) {
			t.Fatal("use of an expired key = false")
		}
		// Renewed: current again.
		if first("v1:aaaa", clock.Now().Add(5*time.Minute)) {
			t.Fatal("use right after renewal = true")
		}
	})

	t.Run("keys are case-sensitive", func(t *testing.T) {
		until := clock.Now().Add(time.Minute)
		if !first("slack:Case", until) || !first("slack:case", until) {
			t.Fatal("keys differing only in case collide")
		}
	})

	t.Run("an until already passed is expired at once", func(t *testing.T) {
		past := clock.Now().Add(-time.Second)
		for i := range 2 {
			if !first("v1:past", past) {
				t.Fatalf("use %d of a key recorded as already expired = false", i+1)
			}
		}
	})

	t.Run("concurrent uses of one key: exactly one wins", func(t *testing.T) {
		for round := range 3 {
			key := fmt.Sprintf("v1:race-%d", round)
			until := clock.Now().Add(time.Minute)
			const n = 16
			if got := race(t, key, until, n); got != 1 {
				t.Fatalf("round %d: %d of %d concurrent uses saw a first use, want exactly 1", round, got, n)
			}
		}
	})

	t.Run("concurrent renewals of one expired key: exactly one wins", func(t *testing.T) {
		key := "v1:expired-race"
		if !first(key, clock.Now().Add(time.Second)) {
			t.Fatal("first use = false")
		}
		clock.Advance(2 * time.Second)
		until := clock.Now().Add(time.Minute)
		if got := race(t, key, until, 16); got != 1 {
			t.Fatalf("%d concurrent renewals won, want exactly 1", got)
		}
	})

	t.Run("an instance whose clock runs ahead sweeps no key still current", func(t *testing.T) {
		// Another instance on the same database, its clock ten minutes
		// ahead: by its clock this key has expired, by this one's it
		// has not, and the signature is still accepted here.
		ahead := openStore(t, rawURL, sqlstore.WithClock(func() time.Time { return clock.Now().Add(10 * time.Minute) }))
		until := clock.Now().Add(5 * time.Minute)
		if !first("v1:skewed", until) {
			t.Fatal("first use = false")
		}
		if _, err := ahead.FirstUse(ctx, "v1:ahead-sweeper", clock.Now().Add(15*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if first("v1:skewed", until) {
			t.Fatal("a replay accepted: the instance whose clock runs ahead deleted a key still current on this one")
		}
	})

	t.Run("expired keys are swept in bounded batches", func(t *testing.T) {
		clock.Advance(2 * time.Hour) // everything recorded so far has expired, by more than the margin
		until := clock.Now().Add(time.Minute)
		for i := range 100 {
			first(fmt.Sprintf("v1:sweep-%03d", i), until)
		}
		clock.Advance(sqlstore.ReplaySweepMargin + 2*time.Minute)
		before, err := s.ReplayKeyCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if before < 100 {
			t.Fatalf("%d rows before the sweep, want at least 100", before)
		}
		first("v1:sweeper-1", clock.Now().Add(time.Minute))
		after, err := s.ReplayKeyCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// One call deletes at most 64 and adds its own key.
		if want := before - 64 + 1; after != want {
			t.Fatalf("after one call: %d rows, want %d (64 expired deleted, one added)", after, want)
		}
		for i := 2; i < 10; i++ {
			first(fmt.Sprintf("v1:sweeper-%d", i), clock.Now().Add(time.Minute))
		}
		if n, err := s.ReplayKeyCount(ctx); err != nil || n != 9 {
			t.Fatalf("after the sweep: %d rows, %v; want only the 9 current keys", n, err)
		}
	})

	t.Run("bad keys are refused", func(t *testing.T) {
		for _, key := range []string{"", strings.Repeat("k", sqlstore.MaxReplayKey+1), "bad\xffutf8", "nul\x00"} {
			if _, err := s.FirstUse(ctx, key, clock.Now().Add(time.Minute)); err == nil {
				t.Errorf("FirstUse(%q) succeeded", key)
			}
		}
		if !first(strings.Repeat("k", sqlstore.MaxReplayKey), clock.Now().Add(time.Minute)) {
			t.Error("a key of exactly MaxReplayKey bytes is refused")
		}
	})
}

func TestSQLiteFirstUse(t *testing.T) { testFirstUse(t, sqliteURL(t)) }

func TestPostgresFirstUse(t *testing.T) { testFirstUse(t, testenv.StoreURL(t, "postgres")) }

func TestMySQLFirstUse(t *testing.T) { testFirstUse(t, testenv.StoreURL(t, "mysql")) }

// BenchmarkFirstUse: one replay check with a new key, on SQLite. (The
// PostgreSQL and MySQL test URLs name shared databases; a benchmark must not
// migrate them.)
func BenchmarkFirstUse(b *testing.B) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQL(ctx, "sqlite://"+b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	i := 0
	for b.Loop() {
		i++
		if ok, err := s.FirstUse(ctx, "bench:"+strconv.Itoa(i), time.Now().Add(time.Minute)); err != nil || !ok {
			b.Fatalf("FirstUse = %v, %v", ok, err)
		}
	}
}
