package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/outgoing"
	gwrequest "github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
)

// Run runs the contract against the stores open returns. open is called once
// per subtest and must return an empty store of its own (a fresh file, schema
// or database), closed by open's own t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"InsertGetRoundTrip", testRoundTrip},
		{"InsertDefaults", testInsertDefaults},
		{"GetMissing", testGetMissing},
		{"InsertTwiceKeepsFirst", testInsertTwice},
		{"InsertMany", testInsertMany},
		{"InsertManyWhole", testInsertManyWhole},
		{"ConcurrentInsertSameKey", testConcurrentInsert},
		{"Transition", testTransition},
		{"TransitionLeaseOwner", testTransitionLeaseOwner},
		{"TransitionConcurrent", testTransitionConcurrent},
		{"Claim", testClaim},
		{"ClaimLeaseExpiry", testClaimLeaseExpiry},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"Release", testRelease},
		{"OutboxOrder", testOutboxOrder},
		{"OutboxPark", testOutboxPark},
		{"SinkDelivery", testSinkDelivery},
		{"SinkRoute", testSinkRoute},
		{"CanceledContext", testCanceledContext},
		{"GetMany", testGetMany},
		{"BatchStates", testBatchStates},
		{"InsertWithinQuota", testInsertWithin},
		{"InsertWithinConcurrent", testInsertWithinConcurrent},
		{"ValuesAtTheValidationLimits", testValuesAtTheLimits},
		{"ValuesBeyondAColumn", testValuesBeyondAColumn},
		{"History", testHistory},
		{"HistoryReasons", testHistoryReasons},
		{"Hold", testHold},
		{"LearnedRate", testLearnedRate},
		{"DeleteRequests", testDeleteRequests},
		{"Expiry", testExpiry},
		{"Orphans", testOrphans},
		{"ProvisionTimes", testProvisionTimes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base is an arbitrary instant with nanoseconds and a non-UTC zone, so that
// round trips show the store's normalisation (UTC, microseconds).
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CST", 8*3600))

// norm is the documented normalisation of stored times.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func request(key string, created time.Time) store.Request {
	return store.Request{
		Key:         key,
		Source:      "acs:test",
		EventID:     "evt-" + key,
		Subject:     "subject-" + key,
		ClientToken: "token-" + key,
		RegionID:    "cn-hangzhou",
		VpcID:       "vpc-" + key,
		Params:      []byte(`{"VpcId":"vpc-` + key + `"}`),
		State:       store.Received,
		CreatedAt:   created,
		UpdatedAt:   created,
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
}

func event(key, id string) store.Event {
	return store.Event{
		RequestKey: key,
		Event:      outgoing.Event{ID: id, Type: "vpngw.test." + id, Body: []byte(`{"id":"` + id + `"}`)},
	}
}

// diff lists the fields in which got differs from want, with want's times
// normalised as the store normalises them.
func diff(want, got store.Request) string {
	var d []string
	field := func(name string, w, g any) {
		if w != g {
			d = append(d, fmt.Sprintf("%s: want %v, got %v", name, w, g))
		}
	}
	times := func(name string, w, g time.Time) {
		w = norm(w)
		if !w.Equal(g) || (!g.IsZero() && g.Location() != time.UTC) {
			d = append(d, fmt.Sprintf("%s: want %v, got %v", name, w, g))
		}
	}
	field("Key", want.Key, got.Key)
	field("Source", want.Source, got.Source)
	field("EventID", want.EventID, got.EventID)
	field("Subject", want.Subject, got.Subject)
	field("ClientToken", want.ClientToken, got.ClientToken)
	field("RegionID", want.RegionID, got.RegionID)
	field("VpcID", want.VpcID, got.VpcID)
	if !bytes.Equal(want.Params, got.Params) {
		d = append(d, fmt.Sprintf("Params: want %q, got %q", want.Params, got.Params))
	}
	field("State", want.State, got.State)
	field("GatewayID", want.GatewayID, got.GatewayID)
	field("OrderID", want.OrderID, got.OrderID)
	field("Attempts", want.Attempts, got.Attempts)
	field("LastError", want.LastError, got.LastError)
	times("CreatedAt", want.CreatedAt, got.CreatedAt)
	times("UpdatedAt", want.UpdatedAt, got.UpdatedAt)
	times("AcceptedAt", want.AcceptedAt, got.AcceptedAt)
	field("LeaseOwner", want.LeaseOwner, got.LeaseOwner)
	times("LeaseUntil", want.LeaseUntil, got.LeaseUntil)
	field("TraceParent", want.TraceParent, got.TraceParent)
	field("Caller", want.Caller, got.Caller)
	field("ChatUser", want.ChatUser, got.ChatUser)
	field("DryRun", want.DryRun, got.DryRun)
	field("ItemScheme", want.ItemScheme, got.ItemScheme)
	field("Origin", want.Origin, got.Origin)
	field("Kind", want.Kind, got.Kind)
	times("ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	field("ExpiryWarned", want.ExpiryWarned, got.ExpiryWarned)
	if !bytes.Equal(want.Data, got.Data) || (want.Data == nil) != (got.Data == nil) {
		d = append(d, fmt.Sprintf("Data: want %q (nil %v), got %q (nil %v)", want.Data, want.Data == nil, got.Data, got.Data == nil))
	}
	return strings.Join(d, "; ")
}

func mustInsert(t *testing.T, s store.Store, r store.Request, events ...store.Event) store.Request {
	t.Helper()
	got, created, err := s.Insert(context.Background(), r, events)
	if err != nil {
		t.Fatalf("Insert(%s): %v", r.Key, err)
	}
	if !created {
		t.Fatalf("Insert(%s): created = false for a new key", r.Key)
	}
	return got
}

func mustGet(t *testing.T, s store.Store, key string) store.Request {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return got
}

// unsentAll reads the whole outbox backlog.
func unsentAll(t *testing.T, s store.Store) []store.Event {
	t.Helper()
	evs, err := s.Unsent(context.Background(), 100000)
	if err != nil {
		t.Fatalf("Unsent: %v", err)
	}
	return evs
}

func ids(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testRoundTrip(t *testing.T, s store.Store) {
	want := store.Request{
		Key:         "k-roundtrip",
		Source:      "acs:eventbridge/ünïcode",
		EventID:     "45ef4dew-7c35-447a",
		Subject:     "acs.vpc:cn-hangzhou:123:vpc-1",
		ClientToken: "vpngw-0123456789abcdef",
		RegionID:    "cn-shanghai",
		VpcID:       "vpc-bp1",
		Params:      []byte{0, 1, 2, 0xff, '{', '}', 0xfe}, // not valid UTF-8: stored as bytes
		State:       store.Pending,
		GatewayID:   "vpn-bp1gw",
		OrderID:     9007199254740993, // above 2^53: no float detour
		Attempts:    3,
		LastError:   "Throttling.User: try later",
		CreatedAt:   base,
		UpdatedAt:   base.Add(1500 * time.Millisecond),
		AcceptedAt:  base.Add(time.Second + 999),
		LeaseOwner:  "tick-1",
		LeaseUntil:  base.Add(time.Minute),
		Caller:      "dingtalk",
		ChatUser:    "manager4711-ünïcode",
		DryRun:      true,
		Data:        []byte{'{', 0, 0xff, '}'},
		ItemScheme:  store.ItemsApart,
		Origin:      `{"key":"ci-ünïcode","bus":"vpngw-ci","route":"platform","account":"123456789012"}`,
	}
	got := mustInsert(t, s, want)
	if d := diff(want, got); d != "" {
		t.Errorf("Insert returned a different request: %s", d)
	}
	if d := diff(want, mustGet(t, s, want.Key)); d != "" {
		t.Errorf("Get after Insert: %s", d)
	}
	// Keys differing only in case are different requests.
	upper := want
	upper.Key = strings.ToUpper(want.Key)
	mustInsert(t, s, upper)
}

func testInsertDefaults(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	r := store.Request{Key: "k-defaults", Source: "s", EventID: "e", ClientToken: "c", RegionID: "r"}
	got := mustInsert(t, s, r, store.Event{Event: outgoing.Event{ID: "ev-1", Type: "t", Body: nil}})
	if got.State != store.Received {
		t.Errorf("State = %q, want %q for an unset state", got.State, store.Received)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
	}
	if !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("UpdatedAt = %v, want CreatedAt %v", got.UpdatedAt, got.CreatedAt)
	}
	if !got.AcceptedAt.IsZero() || !got.LeaseUntil.IsZero() || got.LeaseOwner != "" {
		t.Errorf("unset AcceptedAt/lease came back as %v / %q until %v", got.AcceptedAt, got.LeaseOwner, got.LeaseUntil)
	}
	if len(got.Params) != 0 {
		t.Errorf("Params = %q, want empty", got.Params)
	}
	if got.Data != nil || got.DryRun || got.Caller != "" || got.ChatUser != "" || got.ItemScheme != store.ItemsByIndex || got.Origin != "" {
		t.Errorf("unset requester came back as Data %q, DryRun %v, Caller %q, ChatUser %q, Origin %q", got.Data, got.DryRun, got.Caller, got.ChatUser, got.Origin)
	}
	evs := unsentAll(t, s)
	if len(evs) != 1 || evs[0].RequestKey != r.Key || len(evs[0].Body) != 0 || evs[0].CreatedAt.IsZero() {
		t.Errorf("outbox = %+v, want one event for %s, empty body, stamped", evs, r.Key)
	}
	if _, _, err := s.Insert(context.Background(), store.Request{}, nil); err == nil {
		t.Error("Insert without a key succeeded")
	}
	if _, _, err := s.Insert(context.Background(), request("k-bad-ev", base), []store.Event{event("other", "x")}); err == nil {
		t.Error("Insert with another request's event succeeded")
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	_, err := s.Get(context.Background(), "k-missing")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
	}
}

func testInsertTwice(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := request("k-twice", base)
	mustInsert(t, s, first, event(first.Key, "ev-received"))

	second := request("k-twice", base.Add(time.Hour))
	second.ClientToken = "another-token"
	second.Params = []byte(`{"other":true}`)
	got, created, err := s.Insert(ctx, second, []store.Event{event(second.Key, "ev-received-2")})
	if err != nil {
		t.Fatalf("second Insert: %v", err)
	}
	if created {
		t.Error("second Insert: created = true, want false")
	}
	if d := diff(first, got); d != "" {
		t.Errorf("second Insert returned something other than the first request: %s", d)
	}
	if d := diff(first, mustGet(t, s, first.Key)); d != "" {
		t.Errorf("second Insert changed the stored request: %s", d)
	}
	if got := ids(unsentAll(t, s)); !slices.Equal(got, []string{"ev-received"}) {
		t.Errorf("outbox = %v, want only the first insert's event", got)
	}
}

// atOnce runs fn(0) to fn(n-1), each in its own goroutine, all released at
// the same instant so that they race, and returns when every one returned.
func atOnce(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func testConcurrentInsert(t *testing.T, s store.Store) {
	const workers = 16
	ctx := context.Background()
	var (
		mu      sync.Mutex
		created []int
		results = make([]store.Request, workers)
		rs      = make([]store.Request, workers)
	)
	for w := range rs {
		rs[w] = request("k-race", base)
		rs[w].ClientToken = fmt.Sprintf("token-%d", w)
	}
	atOnce(workers, func(w int) {
		got, ok, err := s.Insert(ctx, rs[w], []store.Event{event("k-race", fmt.Sprintf("ev-%d-a", w)), event("k-race", fmt.Sprintf("ev-%d-b", w))})
		if err != nil {
			t.Errorf("worker %d: Insert: %v", w, err)
			return
		}
		results[w] = got
		if ok {
			mu.Lock()
			created = append(created, w)
			mu.Unlock()
		}
	})
	if t.Failed() {
		return
	}
	if len(created) != 1 {
		t.Fatalf("%d inserts report created (%v), want exactly 1", len(created), created)
	}
	winner := created[0]
	stored := mustGet(t, s, "k-race")
	if stored.ClientToken != fmt.Sprintf("token-%d", winner) {
		t.Errorf("stored ClientToken %q is not the creator's (worker %d)", stored.ClientToken, winner)
	}
	for w, got := range results {
		if d := diff(stored, got); d != "" {
			t.Errorf("worker %d got a request other than the stored one: %s", w, d)
		}
	}
	want := []string{fmt.Sprintf("ev-%d-a", winner), fmt.Sprintf("ev-%d-b", winner)}
	if got := ids(unsentAll(t, s)); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want exactly the creator's events %v", got, want)
	}
}

func testTransition(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := mustInsert(t, s, request("k-trans", base))
	accepted := base.Add(42 * time.Second)

	tests := []struct {
		name    string
		key     string
		from    []store.State
		to      store.State
		change  store.Change
		events  []store.Event
		wantErr error
		check   func(t *testing.T, got store.Request)
	}{
		{
			name: "not in from is a conflict",
			key:  r.Key, from: []store.State{store.Pending}, to: store.Active,
			events:  []store.Event{event(r.Key, "ev-never")},
			wantErr: store.ErrConflict,
		},
		{
			name: "missing key is not found",
			key:  "k-nope", from: []store.State{store.Received}, to: store.Pending,
			wantErr: store.ErrNotFound,
		},
		{
			name: "received to pending applies the change",
			key:  r.Key, from: []store.State{store.Received, store.Pending}, to: store.Pending,
			change: store.Change{GatewayID: "vpn-1", OrderID: 77, AddAttempt: true, AcceptedAt: accepted},
			events: []store.Event{event(r.Key, "ev-pending")},
			check: func(t *testing.T, got store.Request) {
				want := r
				want.State, want.GatewayID, want.OrderID, want.Attempts = store.Pending, "vpn-1", 77, 1
				want.AcceptedAt = accepted
				want.UpdatedAt = got.UpdatedAt // checked below
				if d := diff(want, got); d != "" {
					t.Error(d)
				}
				if !got.UpdatedAt.After(norm(r.UpdatedAt)) {
					t.Errorf("UpdatedAt = %v, not after the insert's %v", got.UpdatedAt, r.UpdatedAt)
				}
			},
		},
		{
			name: "zero change fields are left alone",
			key:  r.Key, from: []store.State{store.Pending}, to: store.Pending,
			change: store.Change{LastError: "Throttling", AddAttempt: true},
			check: func(t *testing.T, got store.Request) {
				if got.GatewayID != "vpn-1" || got.OrderID != 77 || !got.AcceptedAt.Equal(norm(accepted)) {
					t.Errorf("unset fields changed: %+v", got)
				}
				if got.LastError != "Throttling" || got.Attempts != 2 {
					t.Errorf("LastError, Attempts = %q, %d; want Throttling, 2", got.LastError, got.Attempts)
				}
			},
		},
		{
			name: "pending to active",
			key:  r.Key, from: []store.State{store.Pending}, to: store.Active,
			events: []store.Event{event(r.Key, "ev-active")},
			check: func(t *testing.T, got store.Request) {
				if got.State != store.Active || !got.State.Terminal() {
					t.Errorf("State = %q, want active", got.State)
				}
			},
		},
		{
			name: "terminal state does not move",
			key:  r.Key, from: []store.State{store.Received, store.Pending}, to: store.Failed,
			events:  []store.Event{event(r.Key, "ev-failed")},
			wantErr: store.ErrConflict,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mustGetOrZero(t, s, tc.key)
			got, err := s.Transition(ctx, tc.key, tc.from, tc.to, "", tc.change, tc.events)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				if after := mustGetOrZero(t, s, tc.key); diff(before, after) != "" {
					t.Errorf("failed transition changed the request: %s", diff(before, after))
				}
				return
			}
			if err != nil {
				t.Fatalf("Transition: %v", err)
			}
			if d := diff(got, mustGet(t, s, tc.key)); d != "" {
				t.Errorf("Transition returned other than stored: %s", d)
			}
			tc.check(t, got)
		})
	}
	// Only the transitions that happened wrote events, in order.
	if got := ids(unsentAll(t, s)); !slices.Equal(got, []string{"ev-pending", "ev-active"}) {
		t.Errorf("outbox = %v, want [ev-pending ev-active]", got)
	}
}

func mustGetOrZero(t *testing.T, s store.Store, key string) store.Request {
	t.Helper()
	r, err := s.Get(context.Background(), key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return r
}

func testTransitionLeaseOwner(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := mustInsert(t, s, request("k-lease", base))
	now := time.Now()
	claimed, err := s.Claim(ctx, []store.State{store.Received}, "owner-a", now, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim = %d requests, %v; want 1", len(claimed), err)
	}
	recv := []store.State{store.Received}

	_, err = s.Transition(ctx, r.Key, recv, store.Pending, "owner-b", store.Change{}, []store.Event{event(r.Key, "ev-b")})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Transition by another owner: error = %v, want ErrConflict", err)
	}
	if got := mustGet(t, s, r.Key); got.LeaseOwner != "owner-a" || got.State != store.Received {
		t.Errorf("after the refused transition: owner %q state %q, want owner-a received", got.LeaseOwner, got.State)
	}
	got, err := s.Transition(ctx, r.Key, recv, store.Pending, "owner-a", store.Change{GatewayID: "vpn-a"}, []store.Event{event(r.Key, "ev-a")})
	if err != nil {
		t.Fatalf("Transition by the owner: %v", err)
	}
	if got.LeaseOwner != "" || !got.LeaseUntil.IsZero() {
		t.Errorf("Transition left lease %q until %v, want it cleared", got.LeaseOwner, got.LeaseUntil)
	}
	// The lease is gone, so a transition naming the old owner conflicts.
	_, err = s.Transition(ctx, r.Key, []store.State{store.Pending}, store.Active, "owner-a", store.Change{}, nil)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("Transition by a former owner: error = %v, want ErrConflict", err)
	}
	if got := ids(unsentAll(t, s)); !slices.Equal(got, []string{"ev-a"}) {
		t.Errorf("outbox = %v, want [ev-a]", got)
	}
}

// testTransitionConcurrent races transitions out of one state: exactly one
// wins, the rest conflict, and only the winner's event is written.
func testTransitionConcurrent(t *testing.T, s store.Store) {
	const workers = 8
	ctx := context.Background()
	r := mustInsert(t, s, request("k-trans-race", base))
	var (
		mu      sync.Mutex
		winners []int
	)
	atOnce(workers, func(w int) {
		_, err := s.Transition(ctx, r.Key, []store.State{store.Received}, store.Pending, "",
			store.Change{GatewayID: fmt.Sprintf("vpn-%d", w), AddAttempt: true},
			[]store.Event{event(r.Key, fmt.Sprintf("ev-%d", w))})
		switch {
		case err == nil:
			mu.Lock()
			winners = append(winners, w)
			mu.Unlock()
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("worker %d: error = %v, want nil or ErrConflict", w, err)
		}
	})
	if len(winners) != 1 {
		t.Fatalf("%d transitions succeeded (%v), want 1", len(winners), winners)
	}
	got := mustGet(t, s, r.Key)
	if got.GatewayID != fmt.Sprintf("vpn-%d", winners[0]) || got.Attempts != 1 {
		t.Errorf("stored GatewayID %q Attempts %d, want the winner's (%d) and 1", got.GatewayID, got.Attempts, winners[0])
	}
	if evs := ids(unsentAll(t, s)); !slices.Equal(evs, []string{fmt.Sprintf("ev-%d", winners[0])}) {
		t.Errorf("outbox = %v, want only the winner's event", evs)
	}
}

func testClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	var keys []string
	for i := range 6 {
		r := request(fmt.Sprintf("k-claim-%d", i), base.Add(time.Duration(i)*time.Millisecond))
		if i == 4 {
			r.State = store.Pending
		}
		if i == 5 {
			r.State = store.Active
		}
		mustInsert(t, s, r)
		keys = append(keys, r.Key)
	}
	now := time.Now()
	claimable := []store.State{store.Received, store.Pending}

	first, err := s.Claim(ctx, claimable, "owner-a", now, time.Minute, 2)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if got := keysOf(first); !slices.Equal(got, keys[:2]) {
		t.Fatalf("first Claim = %v, want the two oldest %v", got, keys[:2])
	}
	for _, r := range first {
		if r.LeaseOwner != "owner-a" || !r.LeaseUntil.Equal(norm(now.Add(time.Minute))) {
			t.Errorf("claimed %s: lease %q until %v, want owner-a until %v", r.Key, r.LeaseOwner, r.LeaseUntil, norm(now.Add(time.Minute)))
		}
		if d := diff(r, mustGet(t, s, r.Key)); d != "" {
			t.Errorf("claimed %s: stored differs from returned: %s", r.Key, d)
		}
	}

	// Leased rows are skipped; states filter; terminal rows never come.
	second, err := s.Claim(ctx, claimable, "owner-b", now.Add(time.Second), time.Minute, 10)
	if err != nil {
		t.Fatalf("second Claim: %v", err)
	}
	if got := keysOf(second); !slices.Equal(got, keys[2:5]) {
		t.Errorf("second Claim = %v, want %v", got, keys[2:5])
	}
	onlyPending, err := s.Claim(ctx, []store.State{store.Pending}, "owner-c", now.Add(time.Second), time.Minute, 10)
	if err != nil || len(onlyPending) != 0 {
		t.Errorf("Claim of leased pending rows = %v, %v; want none", keysOf(onlyPending), err)
	}
	if none, err := s.Claim(ctx, claimable, "owner-a", now, time.Minute, 0); err != nil || len(none) != 0 {
		t.Errorf("Claim with limit 0 = %v, %v; want nothing", keysOf(none), err)
	}
	if _, err := s.Claim(ctx, claimable, "", now, time.Minute, 1); err == nil {
		t.Error("Claim without an owner succeeded")
	}
}

func testClaimLeaseExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := mustInsert(t, s, request("k-expiry", base))
	now := time.Now()
	claimable := []store.State{store.Received}
	if got, err := s.Claim(ctx, claimable, "crashed", now, time.Minute, 1); err != nil || len(got) != 1 {
		t.Fatalf("Claim = %v, %v; want [%s]", keysOf(got), err, r.Key)
	}
	until := norm(now.Add(time.Minute))
	// Until the lease has passed, nobody else gets the request.
	if got, err := s.Claim(ctx, claimable, "rescuer", until, time.Minute, 1); err != nil || len(got) != 0 {
		t.Fatalf("Claim at lease end = %v, %v; want nothing", keysOf(got), err)
	}
	later := until.Add(time.Microsecond)
	got, err := s.Claim(ctx, claimable, "rescuer", later, time.Minute, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Claim after lease end = %v, %v; want [%s]", keysOf(got), err, r.Key)
	}
	if got[0].LeaseOwner != "rescuer" || !got[0].LeaseUntil.Equal(norm(later.Add(time.Minute))) {
		t.Errorf("taken-over lease %q until %v", got[0].LeaseOwner, got[0].LeaseUntil)
	}
	// The crashed owner's late transition must now fail.
	if _, err := s.Transition(ctx, r.Key, claimable, store.Pending, "crashed", store.Change{}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Transition by the expired owner: error = %v, want ErrConflict", err)
	}
}

// testConcurrentClaimers has 8 claimers drain 2,000 requests in batches of
// 50; every request must be claimed exactly once. A claimer stops when it
// finds nothing, which can happen early while the others hold every
// remaining row; those others go on, so the backlog still drains.
func testConcurrentClaimers(t *testing.T, s store.Store) {
	const (
		total    = 2000
		claimers = 8
		batch    = 50
	)
	ctx := context.Background()
	insertMany(t, s, total)

	now := time.Now()
	var (
		mu     sync.Mutex
		owners = map[string]string{}
		dups   []string
		calls  int
	)
	began := time.Now()
	atOnce(claimers, func(c int) {
		owner := fmt.Sprintf("claimer-%d", c)
		for {
			got, err := s.Claim(ctx, []store.State{store.Pending}, owner, now, time.Hour, batch)
			if err != nil {
				t.Errorf("%s: Claim: %v", owner, err)
				return
			}
			mu.Lock()
			calls++
			for _, r := range got {
				if r.LeaseOwner != owner {
					t.Errorf("%s: claimed %s with lease owner %q", owner, r.Key, r.LeaseOwner)
				}
				if prev, ok := owners[r.Key]; ok {
					dups = append(dups, fmt.Sprintf("%s by %s and %s", r.Key, prev, owner))
				}
				owners[r.Key] = owner
			}
			mu.Unlock()
			if len(got) == 0 {
				return
			}
			if len(got) > batch {
				t.Errorf("%s: Claim returned %d, above the limit %d", owner, len(got), batch)
			}
		}
	})
	t.Logf("%d claimers drained %d requests in %d calls, %v", claimers, len(owners), calls, time.Since(began))
	if len(dups) > 0 {
		t.Fatalf("%d requests claimed twice, e.g. %v", len(dups), dups[:min(5, len(dups))])
	}
	if len(owners) != total {
		t.Fatalf("%d requests claimed, want all %d", len(owners), total)
	}
	// The leases are stored as claimed.
	for _, key := range []string{manyKey(0), manyKey(total / 2), manyKey(total - 1)} {
		if got := mustGet(t, s, key); got.LeaseOwner != owners[key] {
			t.Errorf("%s: stored lease owner %q, claimed by %q", key, got.LeaseOwner, owners[key])
		}
	}
}

func manyKey(i int) string { return fmt.Sprintf("k-many-%05d", i) }

// insertMany inserts n pending requests from a few goroutines.
func insertMany(t *testing.T, s store.Store, n int) {
	t.Helper()
	const workers = 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				r := request(manyKey(i), base.Add(time.Duration(i)*time.Microsecond))
				r.State = store.Pending
				if _, created, err := s.Insert(context.Background(), r, nil); err != nil || !created {
					t.Errorf("Insert(%s) = created %v, %v", r.Key, created, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func testRelease(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 3 {
		mustInsert(t, s, request(fmt.Sprintf("k-rel-%d", i), base.Add(time.Duration(i)*time.Millisecond)))
	}
	now := time.Now()
	recv := []store.State{store.Received}
	got, err := s.Claim(ctx, recv, "owner-a", now, time.Hour, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("Claim = %v, %v; want 3", keysOf(got), err)
	}
	// Another owner cannot release them.
	if err := s.Release(ctx, "owner-b", []string{"k-rel-0", "k-rel-1", "k-rel-2"}); err != nil {
		t.Fatalf("Release by another owner: %v", err)
	}
	if r := mustGet(t, s, "k-rel-2"); r.LeaseOwner != "owner-a" {
		t.Fatalf("another owner's Release freed k-rel-2 (owner now %q)", r.LeaseOwner)
	}
	if err := s.Release(ctx, "owner-a", []string{"k-rel-0", "k-rel-1", "k-missing"}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	for _, key := range []string{"k-rel-0", "k-rel-1"} {
		if r := mustGet(t, s, key); r.LeaseOwner != "" || !r.LeaseUntil.IsZero() || r.State != store.Received {
			t.Errorf("%s after Release: lease %q until %v, state %q; want free and received", key, r.LeaseOwner, r.LeaseUntil, r.State)
		}
	}
	again, err := s.Claim(ctx, recv, "owner-b", now, time.Hour, 10)
	if err != nil {
		t.Fatalf("Claim after Release: %v", err)
	}
	if keys := keysOf(again); !slices.Equal(keys, []string{"k-rel-0", "k-rel-1"}) {
		t.Errorf("Claim after Release = %v, want [k-rel-0 k-rel-1]", keys)
	}
	if err := s.Release(ctx, "owner-a", nil); err != nil {
		t.Errorf("Release of nothing: %v", err)
	}
}

func testOutboxOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustInsert(t, s, request("k-ob-a", base), event("k-ob-a", "a1"), event("k-ob-a", "a2"))
	created := base.Add(3 * time.Second)
	eb := event("k-ob-b", "b1")
	eb.CreatedAt = created
	mustInsert(t, s, request("k-ob-b", base.Add(time.Millisecond)), eb)
	if _, err := s.Transition(ctx, "k-ob-a", []store.State{store.Received}, store.Pending, "", store.Change{},
		[]store.Event{event("k-ob-a", "a3")}); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	mustInsert(t, s, request("k-ob-c", base.Add(2*time.Millisecond)), event("k-ob-c", "c1"))

	all := unsentAll(t, s)
	if got := ids(all); !slices.Equal(got, []string{"a1", "a2", "b1", "a3", "c1"}) {
		t.Fatalf("Unsent = %v, want [a1 a2 b1 a3 c1]", got)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Errorf("seq %d after %d: not increasing", all[i].Seq, all[i-1].Seq)
		}
	}
	b := all[2]
	want := event("k-ob-b", "b1")
	if b.RequestKey != want.RequestKey || b.Type != want.Type || !bytes.Equal(b.Body, want.Body) || !b.CreatedAt.Equal(norm(created)) {
		t.Errorf("event b1 = %+v, want %+v created %v", b, want, norm(created))
	}

	page, err := s.Unsent(ctx, 2)
	if err != nil {
		t.Fatalf("Unsent(2): %v", err)
	}
	if got := ids(page); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("Unsent(2) = %v, want [a1 a2]", got)
	}
	if err := s.MarkSent(ctx, []int64{page[0].Seq, page[1].Seq}); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	if got := ids(unsentAll(t, s)); !slices.Equal(got, []string{"b1", "a3", "c1"}) {
		t.Errorf("Unsent after MarkSent = %v, want [b1 a3 c1]", got)
	}
	// Marking again, or marking unknown seqs, is harmless.
	if err := s.MarkSent(ctx, []int64{page[0].Seq, 1 << 40}); err != nil {
		t.Errorf("MarkSent again: %v", err)
	}
	if err := s.MarkSent(ctx, []int64{all[3].Seq}); err != nil {
		t.Fatalf("MarkSent(a3): %v", err)
	}
	if got := ids(unsentAll(t, s)); !slices.Equal(got, []string{"b1", "c1"}) {
		t.Errorf("Unsent after marking a3 = %v, want [b1 c1]", got)
	}
	if got, err := s.Unsent(ctx, 0); err != nil || len(got) != 0 {
		t.Errorf("Unsent(0) = %v, %v; want nothing", ids(got), err)
	}
}

// testOutboxPark parks an event in the middle of the outbox: the events
// behind it are unsent as before, the parked one is listed with its reason
// until it is unparked, and then comes back in its place.
func testOutboxPark(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustInsert(t, s, request("k-pk-a", base), event("k-pk-a", "a1"), event("k-pk-a", "a2"), event("k-pk-a", "a3"))
	mustInsert(t, s, request("k-pk-b", base), event("k-pk-b", "b1"))
	all := unsentAll(t, s)
	if got := ids(all); !slices.Equal(got, []string{"a1", "a2", "a3", "b1"}) {
		t.Fatalf("Unsent = %v", got)
	}
	a2, b1 := all[1], all[3]
	// A reason longer than the limit, with a multi-byte character across it.
	reason := strings.Repeat("x", store.MaxParkedReason-1) + "é and more"
	if n, err := s.CountParked(ctx); err != nil || n != 0 {
		t.Fatalf("CountParked before parking = %d, %v; want 0", n, err)
	}
	if err := s.Park(ctx, a2.Seq, reason); err != nil {
		t.Fatalf("Park(a2): %v", err)
	}
	if got := ids(unsentAll(t, s)); !slices.Equal(got, []string{"a1", "a3", "b1"}) {
		t.Fatalf("Unsent after parking a2 = %v, want [a1 a3 b1]", got)
	}
	parked, err := s.Parked(ctx, 10)
	if err != nil {
		t.Fatalf("Parked: %v", err)
	}
	if n, err := s.CountParked(ctx); err != nil || n != 1 {
		t.Errorf("CountParked = %d, %v; want 1", n, err)
	}
	if len(parked) != 1 || parked[0].ID != "a2" || parked[0].Seq != a2.Seq || !bytes.Equal(parked[0].Body, a2.Body) ||
		parked[0].Type != a2.Type || parked[0].RequestKey != "k-pk-a" {
		t.Fatalf("Parked = %+v, want a2", parked)
	}
	if want := strings.Repeat("x", store.MaxParkedReason-1); parked[0].ParkedReason != want {
		t.Errorf("parked reason is %d bytes (%q…), want the first %d bytes cut before the split character",
			len(parked[0].ParkedReason), parked[0].ParkedReason[len(parked[0].ParkedReason)-3:], len(want))
	}
	if p := parked[0].ParkedAt; p.IsZero() || p.Location() != time.UTC || time.Since(p) > time.Hour || time.Since(p) < -time.Hour {
		t.Errorf("ParkedAt = %v, want about now, in UTC", p)
	}
	if unsent := unsentAll(t, s); !unsent[0].ParkedAt.IsZero() || unsent[0].ParkedReason != "" {
		t.Errorf("an unsent event carries parking details: %+v", unsent[0])
	}
	// Parking again, parking a sent event or an unknown seq changes nothing.
	if err := s.Park(ctx, a2.Seq, "again"); err != nil {
		t.Fatalf("Park(a2) again: %v", err)
	}
	if err := s.MarkSent(ctx, []int64{b1.Seq}); err != nil {
		t.Fatal(err)
	}
	if err := s.Park(ctx, b1.Seq, "sent already"); err != nil {
		t.Fatalf("Park(b1, sent): %v", err)
	}
	if err := s.Park(ctx, 1<<40, "unknown"); err != nil {
		t.Fatalf("Park(unknown): %v", err)
	}
	if parked, err := s.Parked(ctx, 10); err != nil || len(parked) != 1 || parked[0].ParkedReason == "again" {
		t.Fatalf("Parked after no-op parks = %+v, %v; want a2 with its first reason", parked, err)
	}
	if got, err := s.Parked(ctx, 0); err != nil || len(got) != 0 {
		t.Errorf("Parked(0) = %v, %v; want nothing", ids(got), err)
	}
	// Unparking puts it back in its place; only parked events count.
	n, err := s.Unpark(ctx, []int64{a2.Seq, b1.Seq, 1 << 40})
	if err != nil || n != 1 {
		t.Fatalf("Unpark = %d, %v; want 1", n, err)
	}
	got := unsentAll(t, s)
	if !slices.Equal(ids(got), []string{"a1", "a2", "a3"}) || got[1].ParkedReason != "" || !got[1].ParkedAt.IsZero() {
		t.Fatalf("Unsent after Unpark = %v (%+v), want [a1 a2 a3] with no parking details", ids(got), got[1])
	}
	if parked, err := s.Parked(ctx, 10); err != nil || len(parked) != 0 {
		t.Errorf("Parked after Unpark = %v, %v", ids(parked), err)
	}
	if n, err := s.CountParked(ctx); err != nil || n != 0 {
		t.Errorf("CountParked after Unpark = %d, %v; want 0", n, err)
	}
	if n, err := s.Unpark(ctx, nil); err != nil || n != 0 {
		t.Errorf("Unpark(nil) = %d, %v", n, err)
	}
}

// testCanceledContext checks that statements honour their context.
func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Insert(ctx, request("k-ctx", base), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Insert with a canceled context: error = %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, "k-ctx"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: error = %v, want context.Canceled", err)
	}
	if _, err := s.Claim(ctx, []store.State{store.Received}, "o", time.Now(), time.Minute, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Claim with a canceled context: error = %v, want context.Canceled", err)
	}
	if _, err := s.Get(context.Background(), "k-ctx"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the canceled Insert stored the request (Get error = %v)", err)
	}
}

func keysOf(rs []store.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

// testGetMany reads many keys at once, more than one query's worth, and
// leaves out the keys that do not exist.
func testGetMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	var keys []string
	for i := range 620 {
		k := fmt.Sprintf("many-%04d", i)
		if i%2 == 0 {
			if _, _, err := s.Insert(ctx, request(k, base), nil); err != nil {
				t.Fatal(err)
			}
		}
		keys = append(keys, k)
	}
	got, err := s.GetMany(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 310 {
		t.Fatalf("GetMany returned %d requests, want the 310 that exist", len(got))
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.Key] || !strings.HasPrefix(r.Key, "many-") {
			t.Fatalf("unexpected or repeated key %q", r.Key)
		}
		seen[r.Key] = true
		if d := diff(request(r.Key, base), r); d != "" {
			t.Fatalf("%s: %s", r.Key, d)
		}
	}
	if got, err := s.GetMany(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("GetMany(nil) = %v, %v", got, err)
	}
}

// testBatchStates: a batch record is claimed like a request, is not
// terminal while open, and its completion is a transition like any other.
func testBatchStates(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := request("batch-1", base)
	r.State = store.Batch
	if _, _, err := s.Insert(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
	if store.Batch.Terminal() || !store.BatchDone.Terminal() {
		t.Fatal("Batch must be open and BatchDone terminal")
	}
	got, err := s.Claim(ctx, []store.State{store.Batch}, "tick", base.Add(time.Minute), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Key != "batch-1" {
		t.Fatalf("claim batches: %v, %v", got, err)
	}
	done, err := s.Transition(ctx, "batch-1", []store.State{store.Batch}, store.BatchDone, "tick", store.Change{}, []store.Event{event("batch-1", "summary")})
	if err != nil || done.State != store.BatchDone {
		t.Fatalf("complete batch: %v, %v", done, err)
	}
	if _, err := s.Transition(ctx, "batch-1", []store.State{store.Batch}, store.BatchDone, "", store.Change{}, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("completing twice: %v, want ErrConflict", err)
	}
}

// testValuesAtTheLimits: every value the validation lets through is kept
// whole, at the longest it may be and in four-byte characters, so that a
// request vpngw accepted is never one its store cannot record (the MySQL
// columns are VARCHARs of characters, utf8mb4; SQLite and PostgreSQL use
// TEXT). LastError is what provision writes: at most 1000 bytes.
func testValuesAtTheLimits(t *testing.T, s store.Store) {
	wide := func(n int) string { return strings.Repeat("\U0001F600", n) } // 4 bytes each
	want := request("k-limits", base)
	want.Source = wide(gwrequest.MaxIdentityLength)
	want.EventID = wide(gwrequest.MaxIdentityLength)
	want.Subject = wide(gwrequest.MaxIdentityLength)
	want.ClientToken = strings.Repeat("t", gwrequest.MaxClientTokenLength)
	want.RegionID = strings.Repeat("r", gwrequest.MaxRegionIDLength)
	want.VpcID = "vpc-" + strings.Repeat("v", gwrequest.MaxResourceIDLength-4)
	want.LastError = wide(250) // 1000 bytes
	got := mustInsert(t, s, want, event(want.Key, "e-limits"))
	if d := diff(want, got); d != "" {
		t.Errorf("values at the limits did not round-trip: %s", d)
	}
	changed, err := s.Transition(context.Background(), want.Key, []store.State{store.Received}, store.Failed, "",
		store.Change{LastError: wide(250), AddAttempt: true}, nil)
	if err != nil || changed.LastError != wide(250) {
		t.Errorf("Transition with a LastError of 1000 bytes: %v, kept %d bytes", err, len(changed.LastError))
	}
}

// testValuesBeyondAColumn: a value the database cannot keep as sent (NUL in
// text, longer than its column) is either kept whole or refused with
// store.ErrInvalidValue, never altered and never an error a retry could
// cure.
func testValuesBeyondAColumn(t *testing.T, s store.Store) {
	cases := map[string]func(r *store.Request){
		"NUL in source":     func(r *store.Request) { r.Source = "a\x00b" },
		"long source":       func(r *store.Request) { r.Source = strings.Repeat("s", 4*gwrequest.MaxIdentityLength) },
		"long region":       func(r *store.Request) { r.RegionID = strings.Repeat("r", 300) },
		"NUL in last error": func(r *store.Request) { r.LastError = "x\x00y" },
	}
	i := 0
	for name, edit := range cases {
		i++
		want := request(fmt.Sprintf("k-beyond-%d", i), base)
		edit(&want)
		got, _, err := s.Insert(context.Background(), want, []store.Event{event(want.Key, fmt.Sprintf("e-beyond-%d", i))})
		if err != nil {
			if !errors.Is(err, store.ErrInvalidValue) {
				t.Errorf("%s: Insert: %v, want store.ErrInvalidValue", name, err)
			}
			if _, gerr := s.Get(context.Background(), want.Key); !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("%s: a refused Insert left a record (%v)", name, gerr)
			}
			continue
		}
		if d := diff(want, got); d != "" {
			t.Errorf("%s: kept altered: %s", name, d)
		}
	}
}
