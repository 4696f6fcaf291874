package vpcclient

import (
	"testing"
	"time"
)

// A wait the API's answer names is bounded however it names it: a TimeLeft
// of years (or one whose milliseconds overflow a Duration) would otherwise
// hold every call of the region and action, on every instance through the
// rate book, for as long.
func TestRetryAfterIsBounded(t *testing.T) {
	day := time.Duration(maxRetryAfterMs) * time.Millisecond
	for _, tc := range []struct {
		name string
		h    map[string][]string
		want time.Duration
	}{
		{"TimeLeft", map[string][]string{"x-ratelimit-user-api": {"Limit:1,Remain:0,TimeLeft:2000,Reset:1"}}, 2 * time.Second},
		{"TimeLeft of years", map[string][]string{"x-ratelimit-user-api": {"Limit:1,Remain:0,TimeLeft:9000000000000,Reset:1"}}, 0},
		{"TimeLeft overflowing", map[string][]string{"X-Ratelimit-User": {"TimeLeft:9223372036854775"}}, 0},
		{"TimeLeft negative", map[string][]string{"x-ratelimit-user-api": {"TimeLeft:-5"}}, 0},
		{"TimeLeft garbage", map[string][]string{"x-ratelimit-user-api": {"TimeLeft:soon"}}, 0},
		{"TimeLeft of a day", map[string][]string{"x-ratelimit-user-api": {"TimeLeft:86400000"}}, day},
		{"retry-after beyond a day", map[string][]string{"x-acs-retry-after": {"86400001"}}, 0},
		// A wait under a millisecond is written 0: the window ends now,
		// which is a wait named, not none (a throttle that names none
		// halves the learned rate).
		{"TimeLeft of 0", map[string][]string{"x-ratelimit-user-api": {"Limit:60,Remain:0,TimeLeft:0,Reset:1"}}, time.Millisecond},
		{"retry-after of 0", map[string][]string{"x-acs-retry-after": {"0"}}, time.Millisecond},
	} {
		if got := retryAfter(tc.h); got != tc.want || got < 0 || got > day {
			t.Errorf("%s: wait %v, want %v", tc.name, got, tc.want)
		}
	}
}
