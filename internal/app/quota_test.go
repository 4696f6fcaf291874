package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/apptest"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for schema setup

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/store"
)

// quotaPolicy gives each quota a source of its own, with nothing else that
// a test request could break.
const quotaPolicy = `version: 1
rules:
  - name: daily
    match:
      source: "/quota/daily"
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
    quota:
      perDay: 1
  - name: ten-a-day
    match:
      source: "/quota/ten"
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
    quota:
      perDay: 10
  - name: one-at-a-time
    match:
      source: "/quota/pending"
    regions: [cn-hangzhou]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY]
    quota:
      pending: 1
`

// quotaEvent is a request (or a batch) from source.
func quotaEvent(source, id, typ string, data any) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": typ,
		"datacontenttype": "application/json", "data": data,
	})
	return b
}

// postEvent sends one structured CloudEvent to an HTTP intake and decodes
// the answer.
func postEvent(t *testing.T, url string, body []byte) (int, app.ProvisionResponse) {
	t.Helper()
	resp, err := http.Post(url+"/", "application/cloudevents+json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, app.ProvisionResponse{}
	}
	defer resp.Body.Close()
	var out app.ProvisionResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Errorf("answer %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// quotaDenials checks that the failed events of requests refused by a
// quota name the quota and its allowed value, and counts them. Several
// instances draining one outbox may publish an event more than once (the
// outbox delivers at least once), so events are counted by id.
func quotaDenials(t *testing.T, s *stack, key string) int {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range s.EventsOfType(events.TypeFailed) {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		var f events.Failed
		if err := json.Unmarshal(e.Data, &f); err != nil {
			t.Fatal(err)
		}
		if f.Stage != events.StagePolicy || f.Code != events.CodePolicyDenied {
			t.Errorf("failed event %+v: want stage policy, PolicyDenied", f)
			continue
		}
		named := false
		for _, fe := range f.Errors {
			if strings.Contains(fe.Message, key) && fe.Allowed != "" && fe.Field == "source" {
				named = true
			}
		}
		if !named {
			t.Errorf("failed event %s: errors %+v do not name %s and its allowed value", f.Request.EventID, f.Errors, key)
		}
	}
	return len(seen)
}

// A batch of six under perDay: 1, through the HTTP intake: the items count
// as they are recorded, so one gateway is created and the other five fail
// PolicyDenied naming quota.perDay. Before, every item was decided against
// the gateways accepted before the delivery (none), and all six were created.
func TestQuotaPerDayCountsTheItemsOfABatch(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": quotaPolicy}))
	srv := httptest.NewServer(s.App.HTTPHandler())
	defer srv.Close()

	items := make([]map[string]any, 6)
	for i := range items {
		items[i] = validData()
		items[i]["Name"] = fmt.Sprintf("daily-%d", i)
	}
	status, out := postEvent(t, srv.URL, quotaEvent("/quota/daily", "nightly-1", events.TypeBatchRequested, map[string]any{"Requests": items}))
	if status != http.StatusAccepted || len(out.Results) != 6 {
		t.Fatalf("answer %d with %d results, want 202 with 6: %+v", status, len(out.Results), out.Results)
	}
	states := map[store.State]int{}
	for _, r := range out.Results {
		states[r.State]++
		if r.State == store.Failed && (r.Code != events.CodePolicyDenied || !strings.Contains(r.Message, "quota.perDay")) {
			t.Errorf("item %s: %s %q, want PolicyDenied naming quota.perDay", r.EventID, r.Code, r.Message)
		}
		// The batch's first item is the one the quota leaves room for.
		if first := r.EventID == events.BatchItemID("nightly-1", 0); first != (r.State == store.Pending) {
			t.Errorf("item %s is %s; want the first item pending and every other failed", r.EventID, r.State)
		}
	}
	if n := len(s.API.Gateways()); n != 1 || states[store.Pending] != 1 || states[store.Failed] != 5 {
		t.Fatalf("%d gateways created, results by state %v; want 1 gateway, 1 pending and 5 failed", n, states)
	}
	if n := quotaDenials(t, s, "quota.perDay"); n != 5 {
		t.Fatalf("%d failed events, want 5", n)
	}

	// The quota is a rolling 24 hours: once the gateway is active it still
	// counts the same day, and no longer a day later.
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	if _, out := postEvent(t, srv.URL, quotaEvent("/quota/daily", "later-today", events.TypeRequested, validData())); len(out.Results) != 1 || out.Results[0].Code != events.CodePolicyDenied {
		t.Fatalf("a second request the same day: %+v, want PolicyDenied", out.Results)
	}
	// A dry run is answered as the real request would be.
	var dry map[string]any
	_ = json.Unmarshal(quotaEvent("/quota/daily", "dry-today", events.TypeRequested, validData()), &dry)
	dry[intake.DryRunExtension] = "true"
	body, _ := json.Marshal(dry)
	if _, out := postEvent(t, srv.URL, body); len(out.Results) != 1 || out.Results[0].Code != events.CodePolicyDenied || !strings.Contains(out.Results[0].Message, "quota.perDay") {
		t.Fatalf("a dry run over the quota: %+v, want PolicyDenied naming quota.perDay", out.Results)
	}
	s.Clock.Advance(24 * time.Hour)
	if _, out := postEvent(t, srv.URL, quotaEvent("/quota/daily", "next-day", events.TypeRequested, validData())); len(out.Results) != 1 || out.Results[0].State != store.Pending {
		t.Fatalf("a request the next day: %+v, want pending", out.Results)
	}
}

// The room a quota leaves goes to the first items of a batch, in the
// batch's order, though the items are recorded side by side.
func TestQuotaRoomGoesToTheFirstItems(t *testing.T) {
	s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": quotaPolicy}))
	items := make([]map[string]any, 100)
	for i := range items {
		items[i] = validData()
		items[i]["Name"] = fmt.Sprintf("ten-%03d", i)
	}
	resp, err := s.provision(quotaEvent("/quota/ten", "big-batch", events.TypeBatchRequested, map[string]any{"Requests": items}))
	if err != nil || len(resp.Results) != len(items) {
		t.Fatalf("%d results, %v", len(resp.Results), err)
	}
	var created []string
	for _, r := range resp.Results {
		if r.State == store.Pending {
			created = append(created, r.EventID)
		}
	}
	var want []string
	for i := range 10 {
		want = append(want, events.BatchItemID("big-batch", i))
	}
	slices.Sort(created)
	if !slices.Equal(created, want) {
		t.Fatalf("items created: %v; want the first ten, %v", created, want)
	}
}

// Sixteen requests of one source at the same moment, spread over four
// service instances sharing one database, each through its own HTTP
// intake: neither quota.pending nor quota.perDay lets more than one through.
func TestQuotaHoldsAcrossInstances(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			s := newStack(t, apptest.WithStore(kind), apptest.WithEnv(map[string]string{"VPNGW_POLICY_INLINE": quotaPolicy}))
			const instances, requests = 4, 16
			urls := make([]string, instances)
			for i := range instances {
				a := s.App
				if i > 0 {
					a = s.NewApp(s.App.Config, s.Log)
				}
				srv := httptest.NewServer(a.HTTPHandler())
				t.Cleanup(srv.Close)
				urls[i] = srv.URL
			}
			for _, q := range []struct{ source, key string }{{"/quota/pending", "quota.pending"}, {"/quota/daily", "quota.perDay"}} {
				before := len(s.API.Gateways())
				results := make([]app.ProvisionResponse, requests)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range requests {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						body := quotaEvent(q.source, fmt.Sprintf("race-%02d", i), events.TypeRequested, validData())
						_, results[i] = postEvent(t, urls[i%instances], body)
					}()
				}
				close(start)
				wg.Wait()
				states := map[store.State]int{}
				for i, r := range results {
					if len(r.Results) != 1 {
						t.Fatalf("%s: request %d: %+v", q.source, i, r)
					}
					res := r.Results[0]
					states[res.State]++
					if res.State == store.Failed && (res.Code != events.CodePolicyDenied || !strings.Contains(res.Message, q.key)) {
						t.Errorf("%s: request %d: %s %q, want PolicyDenied naming %s", q.source, i, res.Code, res.Message, q.key)
					}
				}
				created := len(s.API.Gateways()) - before
				if created != 1 || states[store.Pending] != 1 || states[store.Failed] != requests-1 {
					t.Errorf("%s (%s): %d gateways created, results by state %v; want 1 gateway, 1 pending and %d failed",
						q.source, q.key, created, states, requests-1)
				}
			}
			if t.Failed() {
				return
			}
			if n := quotaDenials(t, s, "quota."); n != 2*(requests-1) {
				t.Errorf("%d failed events, want %d", n, 2*(requests-1))
			}
		})
	}
}
