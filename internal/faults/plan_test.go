package faults

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// kind is what must become of a planned request.
type kind int

const (
	// valid: passes validation and the API accepts it: one gateway, accepted
	// then active.
	valid kind = iota
	// invalid: refused at validation: failed (stage validation), no API call.
	invalid
	// refused: passes validation, the API refuses it for good: failed
	// (stage create), no gateway.
	refused
	// oversized: refused at validation for twenty unknown members, so its
	// failed event (one error each) is larger than the oversized-outcome
	// scenario's broker takes: parked in the store, never in the stream,
	// and nothing behind it waits.
	oversized
)

func (k kind) String() string {
	return [...]string{"valid", "invalid", "refused", "oversized"}[k]
}

// failsValidation says whether requests of the kind never reach the API.
func (k kind) failsValidation() bool { return k == invalid || k == oversized }

// wantState is the record's final state for the kind.
func (k kind) wantState() store.State {
	if k == valid {
		return store.Active
	}
	return store.Failed
}

// wantTerminal is the terminal event's type for the kind.
func (k kind) wantTerminal() string {
	if k == valid {
		return events.TypeActive
	}
	return events.TypeFailed
}

// planned is one distinct request of a scenario.
type planned struct {
	Index    int
	Identity request.Identity
	Key      string
	Kind     kind
	// Token is the ClientToken the API sees for it; for an invalid request,
	// the one it would carry if it ever reached the API.
	Token string
	// Event is the structured CloudEvent, as EventBridge delivers it.
	Event map[string]any
}

// regions are where valid requests go: several regions make reconcile list
// each separately, two VPCs per region make it list without a VPC filter.
var regions = []struct{ id, prefix string }{
	{"cn-hangzhou", "bp1"}, {"cn-shanghai", "uf6"}, {"cn-beijing", "2ze"}, {"eu-central-1", "gw8"},
}

var sources = []string{
	"acs:eventbridge:cn-hangzhou:123456789:/custom/tickets",
	"/chatbot/netops",
	"urn:vpngw:batch:nightly",
}

// newPlan makes n distinct requests for scenario: about 10% invalid (five
// different ways), 5% refused by the API, the rest valid, spread over
// regions, VPCs, bandwidths, tags and requester-given ClientTokens. It
// checks each against the request rules, so that a change in the rules
// cannot silently turn the suite's "valid" requests into rejections.
func newPlan(t testing.TB, scenario string, n int) []planned {
	t.Helper()
	return newPlanWith(t, scenario, n, false)
}

// bulkyMembers is how many unknown members an oversized request carries:
// its failed event names each (about 400 bytes apiece), some 8 KiB in all.
const bulkyMembers = 20

// newPlanWith is newPlan; with oversized, a further 5% of the requests are
// oversized instead of valid.
func newPlanWith(t testing.TB, scenario string, n int, withOversized bool) []planned {
	t.Helper()
	out := make([]planned, n)
	for i := range n {
		id := request.Identity{
			Source:  sources[i%len(sources)],
			EventID: fmt.Sprintf("%s-%04d", scenario, i),
			Subject: fmt.Sprintf("ticket-%d", 4000+i),
		}
		k := valid
		switch i % 20 {
		case 3, 13:
			k = invalid
		case 7:
			k = refused
		case 11:
			if withOversized {
				k = oversized
			}
		}
		reg := regions[i%len(regions)]
		vpc, vsw1, vsw2 := 1, 1, 2
		if (i/len(regions))%3 == 2 {
			vpc, vsw1, vsw2 = 2, 4, 5
		}
		data := map[string]any{
			"RegionId":                  reg.id,
			"VpcId":                     fmt.Sprintf("vpc-%svpngwdemo%07d", reg.prefix, vpc),
			"VSwitchId":                 fmt.Sprintf("vsw-%svpngwdemo%07d", reg.prefix, vsw1),
			"DisasterRecoveryVSwitchId": fmt.Sprintf("vsw-%svpngwdemo%07d", reg.prefix, vsw2),
			"Bandwidth":                 []int{10, 20, 100, 200}[i%4],
			"Name":                      fmt.Sprintf("faults-%s-%d", scenario, i),
		}
		if i%5 == 1 {
			data["Tags"] = []map[string]string{{"Key": "cost-centre", "Value": fmt.Sprintf("cc-%d", i%7)}}
		}
		if i%10 == 9 {
			data["ClientToken"] = fmt.Sprintf("ticket-%s-%d", scenario, i)
		}
		typ := events.TypeRequested
		switch k {
		case oversized:
			for j := range bulkyMembers {
				data[fmt.Sprintf("UnknownParameterNumber%02d", j)] = j
			}
		case refused:
			// Well-formed, but no such VPC: InvalidVpcId.NotFound.
			data["VpcId"] = fmt.Sprintf("vpc-%sfaultsmissing%03d", reg.prefix, i%1000)
		case invalid:
			switch (i / 20) % 5 {
			case 0: // a typo next to a bandwidth the API does not sell
				data["Bandwith"], data["Bandwidth"] = 10, 7
			case 1: // SSL on a private gateway
				data["NetworkType"], data["EnableSsl"] = "private", true
			case 2: // no region
				delete(data, "RegionId")
			case 3: // a type this function does not handle
				typ = "io.vpngw.gateway.deleted"
			case 4: // no data at all (an envelope problem)
				data = nil
			}
		}
		ev := map[string]any{
			"specversion": "1.0", "id": id.EventID, "source": id.Source, "type": typ, "subject": id.Subject,
			"time": "2026-11-25T10:00:00Z", "datacontenttype": "application/json;charset=utf-8",
			"aliyunaccountid": "123456789", "aliyunpublishtime": "2026-11-25T10:00:00.123Z",
			"aliyuneventbusname": "vpngw", "aliyunregionid": "cn-hangzhou",
			"traceparent": fmt.Sprintf("00-%032x-%016x-01", i+1, i+1),
		}
		if data != nil {
			ev["data"] = data
		}
		p := planned{Index: i, Identity: id, Key: id.Key(), Kind: k, Event: ev}
		p.Token = request.ClientToken(id, "", events.GatewayRequest{})
		raw, _ := json.Marshal(data)
		parsed, perr := request.Parse(raw)
		switch {
		case k == oversized:
			var pe *request.Error
			if !errors.As(perr, &pe) || len(pe.Errors) != bulkyMembers {
				t.Fatalf("plan: oversized request %d should break %d rules: %v", i, bulkyMembers, perr)
			}
		case k != invalid && perr != nil:
			t.Fatalf("plan: request %d (%s) should pass validation: %v", i, k, perr)
		case k != invalid:
			p.Token = request.ClientToken(id, "", parsed)
		case typ == events.TypeRequested && data != nil && perr == nil:
			t.Fatalf("plan: request %d should fail validation but passes: %s", i, raw)
		}
		out[i] = p
	}
	return out
}

// deliveries returns every payload of a scenario: each request appears in
// rounds payloads, in a different random grouping each round, as a single
// event (structured, sometimes with data_base64), an EventBridge
// event-streaming array, or an array of JSON strings (a Kafka source).
func deliveries(t testing.TB, rng *rand.Rand, plan []planned, rounds int) [][]byte {
	t.Helper()
	var out [][]byte
	for range rounds {
		order := rng.Perm(len(plan))
		for len(order) > 0 {
			n := min(1+rng.IntN(8), len(order))
			group := make([]map[string]any, n)
			for j, idx := range order[:n] {
				group[j] = plan[idx].Event
			}
			order = order[n:]
			out = append(out, payload(t, rng, group))
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func payload(t testing.TB, rng *rand.Rand, group []map[string]any) []byte {
	t.Helper()
	mustJSON := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if len(group) == 1 {
		switch r := rng.IntN(10); {
		case r < 6:
			return mustJSON(group[0])
		case r < 8 && group[0]["data"] != nil:
			ev := map[string]any{}
			for k, v := range group[0] {
				ev[k] = v
			}
			delete(ev, "data")
			ev["data_base64"] = base64.StdEncoding.EncodeToString(mustJSON(group[0]["data"]))
			return mustJSON(ev)
		}
	}
	if rng.IntN(3) == 0 {
		strs := make([]string, len(group))
		for i, ev := range group {
			strs[i] = string(mustJSON(ev))
		}
		return mustJSON(strs)
	}
	return mustJSON(group)
}

// TestPlanShapesReachProvisionIntact checks the harness itself: every payload
// shape the driver sends is read back by intake as the planned requests, and
// every invalid request is refused for the reason planned.
func TestPlanShapesReachProvisionIntact(t *testing.T) {
	plan := newPlan(t, "plan", 100)
	byKey := map[string]planned{}
	kinds := map[kind]int{}
	for _, p := range plan {
		byKey[p.Key] = p
		kinds[p.Kind]++
	}
	if kinds[valid] != 85 || kinds[invalid] != 10 || kinds[refused] != 5 {
		t.Fatalf("plan of 100 has kinds %v, want 85 valid, 10 invalid, 5 refused", kinds)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	for _, body := range deliveries(t, rng, plan, 3) {
		items, err := intake.FromPayload(body)
		if err != nil {
			t.Fatalf("payload %s: %v", body, err)
		}
		for _, it := range items {
			p, ok := byKey[it.Identity.Key()]
			if !ok {
				t.Fatalf("item %+v is not in the plan", it.Identity)
			}
			seen[p.Key]++
			if it.Err != nil {
				var ee *intake.EventError
				if p.Kind != invalid || !errors.As(it.Err, &ee) {
					t.Fatalf("request %d (%s): intake refused it: %v", p.Index, p.Kind, it.Err)
				}
				continue
			}
			if it.TraceParent == "" || it.Identity.Subject != p.Identity.Subject {
				t.Fatalf("request %d: attributes lost: %+v", p.Index, it)
			}
			_, perr := request.Parse(it.Data)
			if (perr == nil) != (p.Kind != invalid || it.Type != events.TypeRequested) {
				t.Fatalf("request %d (%s, type %s): Parse says %v", p.Index, p.Kind, it.Type, perr)
			}
		}
	}
	for _, p := range plan {
		if seen[p.Key] != 3 {
			t.Fatalf("request %d delivered %d times, want 3", p.Index, seen[p.Key])
		}
	}
}
