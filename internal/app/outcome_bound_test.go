package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
)

// TestOutcomesOfOversizedRequestsStayUnderTheBound sends requests whose
// echoed values are larger than events.MaxOutcomeBytes through the provision
// function: a dry run with a 300 KiB VpcId (a validated event echoes the
// parameters), and a source as long as the intake takes whose every
// character JSON writes as six bytes (every outcome names its request; a
// longer source is refused unrecorded). Each outcome must reach the stream
// under the bound, none parked for its size.
func TestOutcomesOfOversizedRequestsStayUnderTheBound(t *testing.T) {
	big := strings.Repeat("a", 300<<10)
	for _, tc := range []struct {
		name  string
		event func() []byte
	}{
		{"dry run with a 300 KiB VpcId", func() []byte {
			d := validData()
			d["VpcId"] = "vpc-" + big
			var req map[string]any
			_ = json.Unmarshal(requestEvent("dry-big", d), &req)
			req[intake.DryRunExtension] = "true"
			b, _ := json.Marshal(req)
			return b
		}},
		{"the longest source, in JSON's longest characters", func() []byte {
			var req map[string]any
			_ = json.Unmarshal(requestEvent("big-src", validData()), &req)
			req["source"] = "acs:" + strings.Repeat("\u2028", request.MaxIdentityLength-4)
			b, _ := json.Marshal(req)
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			resp, err := s.provision(tc.event())
			if len(resp.Results) == 0 {
				t.Fatalf("no result (err %v)", err)
			}
			t.Logf("result %s %s, err %v", resp.Results[0].State, resp.Results[0].Code, err)
			got := s.StreamEvents()
			if len(got) == 0 {
				t.Error("no outcome reached the stream")
			}
			for _, e := range got {
				b, _ := json.Marshal(e)
				if len(b) > events.MaxOutcomeBytes {
					t.Errorf("%s outcome is %d bytes, over MaxOutcomeBytes (%d)", e.Type, len(b), events.MaxOutcomeBytes)
				}
			}
			parked, err := s.App.Store.Parked(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range parked {
				t.Errorf("parked %s (%d bytes): %s", e.Type, len(e.Body), e.ParkedReason)
			}
		})
	}
}
