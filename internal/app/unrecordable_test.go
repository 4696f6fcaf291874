package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/testenv"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// A request the store could not save as sent is refused with an error
// naming the attribute and its limit, on every store, and answered for good
// (400, not 503): a NUL in id or subject, a source longer than the stores
// keep, a RegionId or VpcId longer than their columns, a member name with a
// NUL in it. Where the identity is usable the refusal is recorded and
// announced failed.
func TestUnrecordableRequestsAreAnswered(t *testing.T) {
	for name, storeURL := range testenv.StoreURLs(t) {
		t.Run(name, func(t *testing.T) {
			s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_STORE_URL": storeURL}))
			srv := s.intakeServer()
			long := func(prefix string, n int) string { return prefix + strings.Repeat("a", n-len(prefix)) }
			withData := func(edit func(map[string]any)) map[string]any {
				d := validData()
				edit(d)
				return d
			}
			cases := []struct {
				name      string
				body      []byte
				field     string
				announced bool
			}{
				{"NUL in id", eventFrom("/tickets", "evt\x00-1", validData()), "id", false},
				{"control character in source", eventFrom("/tick\nets", "evt-2", validData()), "source", false},
				{"source over the limit", eventFrom(long("/t/", request.MaxIdentityLength+1), "evt-3", validData()), "source", false},
				{"id over the limit", eventFrom("/tickets", long("e", request.MaxIdentityLength+1), validData()), "id", false},
				{"NUL in subject", []byte(`{"specversion":"1.0","id":"evt-5","source":"/tickets","subject":"a\u0000b","type":"io.vpngw.gateway.requested","data":{}}`), "subject", false},
				{"RegionId over its column", eventFrom("/tickets", "evt-6", withData(func(d map[string]any) { d["RegionId"] = long("cn-", 65) })), "RegionId", true},
				{"VpcId over its column", eventFrom("/tickets", "evt-7", withData(func(d map[string]any) { d["VpcId"] = long("vpc-", 200) })), "VpcId", true},
				{"NUL in a member name", eventFrom("/tickets", "evt-8", withData(func(d map[string]any) { d["Bandwidth\x00"] = 5 })), "Bandwidth\x00", true},
				{"batch id too long for its items' ids", batchFrom("/tickets", long("b", request.MaxIdentityLength-2)), "id", false},
				{"NUL in a batch id", batchFrom("/tickets", "batch\x00-1"), "id", false},
			}
		cases:
			for _, tc := range cases {
				for attempt := 1; attempt <= 2; attempt++ {
					status, out, raw := postStructured(t, srv, tc.body)
					if status != http.StatusBadRequest || len(out.Results) != 1 {
						t.Errorf("%s, attempt %d: HTTP %d %.300s, want 400 with one result", tc.name, attempt, status, strings.Join(strings.Fields(raw), " "))
						continue cases
					}
					r := out.Results[0]
					if r.State != store.Failed || r.Retry {
						t.Errorf("%s, attempt %d: %+v, want failed, not to be retried", tc.name, attempt, r)
						continue cases
					}
					if attempt > 1 {
						// A redelivery is answered from the record: the
						// state, not the list of errors again.
						continue
					}
					if r.Code != events.CodeInvalidRequest {
						t.Errorf("%s: code %q, want %s", tc.name, r.Code, events.CodeInvalidRequest)
						continue cases
					}
					named := false
					for _, e := range r.Errors {
						named = named || (e.Field == tc.field && e.Allowed != "")
					}
					if !named {
						t.Errorf("%s: errors %+v do not name %q with what is allowed", tc.name, r.Errors, tc.field)
						continue cases
					}
				}
			}
			// The same through a Function Compute event invocation: it
			// succeeds (no redelivery), and the log says why.
			resp, err := s.provision(eventFrom("/tickets", "fc\x00-1", validData()))
			if err != nil || len(resp.Results) != 1 || resp.Results[0].State != store.Failed || resp.Results[0].Retry {
				t.Errorf("FC invocation with a NUL in id: %+v, %v; want a failed result and a successful invocation", resp.Results, err)
			}
			if !strings.Contains(s.Logs.String(), "request refused unrecorded") {
				t.Errorf("no log line says the request was refused unrecorded")
			}
			var announced int
			for _, tc := range cases {
				if tc.announced {
					announced++
				}
			}
			if got := len(s.EventsOfType(events.TypeFailed)); got != announced {
				t.Errorf("%d failed events, want %d (one per refused request whose identity can be recorded)", got, announced)
			}
			if n := s.API.Calls("CreateVpnGateway"); n != 0 {
				t.Errorf("%d CreateVpnGateway calls, want 0", n)
			}
		})
	}
}

// batchFrom is a batch request event of one valid item.
func batchFrom(source, id string) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": events.TypeBatchRequested,
		"datacontenttype": "application/json", "data": map[string]any{"Requests": []any{validData()}},
	})
	return b
}
