package webhook_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/webhook"
)

// replayRoutes are the three signed routes, each with a request signed at
// a given instant (the same content every time, as a replay is).
var replayRoutes = []struct {
	name string
	sign func(at time.Time) *http.Request
	ok   int
}{
	{"POST /", func(at time.Time) *http.Request { return signedGeneric(sampleEvent, at) }, http.StatusAccepted},
	{"POST /slack", func(at time.Time) *http.Request {
		return signedSlack(slackForm("create region=cn-hangzhou vpc=vpc-bp1vpngwdemo0000001 bandwidth=10"), at)
	}, http.StatusOK},
	{"POST /dingtalk", func(at time.Time) *http.Request {
		return signedDingTalk(dingTalkBody("msg-replay", "staff-1", "create region=cn-hangzhou vpc=vpc-bp1vpngwdemo0000001 bandwidth=10"), at)
	}, http.StatusOK},
}

// replayHandler is the webhook on the store's own replay guard (SQLite),
// the webhook on clock and the store on storeNow.
func replayHandler(t *testing.T, clock *testclock.Clock, storeNow func() time.Time) (http.Handler, *recorder) {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "replay.db"), sqlstore.WithClock(storeNow))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := &recorder{}
	h, err := webhook.New(defaultConfig(), p, st, webhook.WithClock(clock.Now),
		webhook.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

func serve(h http.Handler, req *http.Request) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// TestReplayRefusedWhileTimestampAccepted: a signature is good once. Every
// instant at which its timestamp is still accepted, the last one included
// (the timestamp exactly VPNGW_WEBHOOK_MAX_SKEW old), a replay is refused;
// so is a replay of a timestamp signed the whole skew ahead of the clock,
// through to the instant it is the whole skew old.
func TestReplayRefusedWhileTimestampAccepted(t *testing.T) {
	const skew = webhook.DefaultMaxSkew
	for _, route := range replayRoutes {
		t.Run(route.name, func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				signAt time.Duration // from the first delivery
				at     []time.Duration
			}{
				{"timestamp of now", 0, []time.Duration{0, time.Second, skew - time.Second, skew - time.Millisecond, skew}},
				{"timestamp the whole skew ahead", skew, []time.Duration{0, skew, 2*skew - time.Millisecond, 2 * skew}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					start := testNow
					clock := testclock.New(start)
					h, p := replayHandler(t, clock, clock.Now)
					req := func() *http.Request { return route.sign(start.Add(tc.signAt)) }
					if got := serve(h, req()); got != route.ok {
						t.Fatalf("first delivery: status %d, want %d", got, route.ok)
					}
					for _, at := range tc.at {
						clock.Advance(start.Add(at).Sub(clock.Now()))
						if got := serve(h, req()); got != http.StatusUnauthorized {
							t.Errorf("replay %s after the first delivery (timestamp %s old): status %d, want 401",
								at, clock.Now().Sub(start.Add(tc.signAt)), got)
						}
					}
					if n := len(p.inputs()); n != 1 {
						t.Errorf("the Provisioner got %d deliveries, want 1", n)
					}
				})
			}
		})
	}
}

// TestReplayRefusedWhenTheGuardAnswersLate: time passes between the
// timestamp check and the replay guard's transaction (a busy database). A
// replay checked just inside the window must not get through because the
// guard, answering a moment later, finds the key expired.
func TestReplayRefusedWhenTheGuardAnswersLate(t *testing.T) {
	const skew = webhook.DefaultMaxSkew
	for _, route := range replayRoutes {
		t.Run(route.name, func(t *testing.T) {
			clock := testclock.New(testNow)
			lag := time.Duration(0)
			// Every reading of the store's clock is a transaction that took
			// lag.
			h, p := replayHandler(t, clock, func() time.Time { clock.Advance(lag); return clock.Now() })
			if got := serve(h, route.sign(testNow)); got != route.ok {
				t.Fatalf("first delivery: status %d, want %d", got, route.ok)
			}
			clock.Advance(skew - 500*time.Millisecond)
			lag = 3 * time.Second
			if got := serve(h, route.sign(testNow)); got != http.StatusUnauthorized {
				t.Errorf("replay checked %s before the timestamp went stale, guard answering %s later: status %d, want 401",
					500*time.Millisecond, lag, got)
			}
			if n := len(p.inputs()); n != 1 {
				t.Errorf("the Provisioner got %d deliveries, want 1", n)
			}
		})
	}
}
