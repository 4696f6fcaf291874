package intake_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
)

// vpngwexpires travels as an extension attribute; a value that is neither
// an RFC 3339 time nor a positive duration refuses the event, naming the
// attribute and its forms.
func TestFromPayloadExpires(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{`"168h"`, true},
		{`"30s"`, true},
		{`"2026-12-09T10:00:00Z"`, true},
		{`"2026-12-09t10:00:00+08:00"`, true},
		{`"next week"`, false},
		{`"0s"`, false},
		{`"-1h"`, false},
		{`""`, false},
		{`168`, false},
		{`true`, false},
	} {
		payload := `{"specversion":"1.0","id":"x","source":"/s","type":"` + events.TypeRequested + `","data":{},"vpngwexpires":` + tc.value + `}`
		items, err := intake.FromPayload([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		it := items[0]
		if tc.ok {
			if it.Err != nil {
				t.Errorf("vpngwexpires %s refused: %v", tc.value, it.Err)
			}
			continue
		}
		var ee *request.EventError
		if it.Err == nil || !errors.As(it.Err, &ee) || len(ee.Problems) != 1 || ee.Problems[0].Field != request.ExpiresExtension ||
			ee.Problems[0].Allowed != request.ExpiresAllowed {
			t.Errorf("vpngwexpires %s: %v, want one problem naming %s with its forms", tc.value, it.Err, request.ExpiresExtension)
		} else if !strings.Contains(ee.Problems[0].Message, request.ExpiresExtension) {
			t.Errorf("message %q does not name %s", ee.Problems[0].Message, request.ExpiresExtension)
		}
	}
}
