package testenv_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/testenv"
)

// outcome records how URL ended a test: a failure, a skip, or a value.
type outcome struct {
	testing.TB
	fatal, skip string
}

func (o *outcome) Helper() {}
func (o *outcome) Fatalf(format string, args ...any) {
	o.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (o *outcome) Skipf(format string, args ...any) {
	o.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func urlOf(name string) (o *outcome, got string) {
	o = &outcome{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = testenv.URL(o, name)
	}()
	<-done
	return o, got
}

// A server that is not named is skipped locally and fails under CI=true;
// a named one is returned.
func TestURLSkipsLocallyAndFailsUnderCI(t *testing.T) {
	const name = "VPNGW_TEST_NOSUCH_URL"
	for _, tc := range []struct {
		name, ci, value string
		fatal, skip     bool
	}{
		{name: "unset, locally", ci: "", skip: true},
		{name: "unset, under CI", ci: "true", fatal: true},
		{name: "set, under CI", ci: "true", value: "nats://127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			t.Setenv(name, tc.value)
			o, got := urlOf(name)
			if (o.fatal != "") != tc.fatal || (o.skip != "") != tc.skip || got != tc.value {
				t.Fatalf("fatal %q, skip %q, value %q", o.fatal, o.skip, got)
			}
			if tc.fatal && !strings.Contains(o.fatal, name) {
				t.Errorf("the failure does not name %s: %s", name, o.fatal)
			}
		})
	}
}

// A bounded buffer keeps the end of what was written.
func TestSyncBufferKeepsTheLastMaxBytes(t *testing.T) {
	b := &testenv.SyncBuffer{Max: 4}
	fmt.Fprint(b, "abc")
	fmt.Fprint(b, "defg")
	if got := b.String(); got != "defg" {
		t.Fatalf("got %q, want %q", got, "defg")
	}
}
