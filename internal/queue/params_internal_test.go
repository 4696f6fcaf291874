package queue

import (
	"net/url"
	"testing"
	"time"
)

// durationParam reads a positive duration, keeps the default when the
// parameter is absent, and refuses anything else naming the parameter, the
// value and an example.
func TestDurationParam(t *testing.T) {
	for _, tc := range []struct {
		query   string
		want    time.Duration
		wantErr string
	}{
		{"", 7 * time.Second, ""},
		{"timeout=250ms", 250 * time.Millisecond, ""},
		{"timeout=2h", 2 * time.Hour, ""},
		{"timeout=0s", 0, `query parameter timeout="0s" is not a positive duration such as 5s`},
		{"timeout=-1s", 0, `query parameter timeout="-1s" is not a positive duration such as 5s`},
		{"timeout=5", 0, `query parameter timeout="5" is not a positive duration such as 5s`},
		{"timeout=soon", 0, `query parameter timeout="soon" is not a positive duration such as 5s`},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := durationParam(q, "timeout", 7*time.Second, "5s")
		switch {
		case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
			t.Errorf("%q: error %v, want %q", tc.query, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %v, %v; want %v", tc.query, got, err, tc.want)
		}
	}
}
