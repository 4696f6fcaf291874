package reconcile_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// Requests failed before CreateVpnGateway answered hold no gateway id:
// their gateways are found in the region's listing by the vpngw:* tags
// create sets (source and event id, or source and the ClientToken the
// request gave), ⌈N/50⌉ calls for N gateways, once per interval each,
// within the window after the failure.
func TestOrphansFoundByTags(t *testing.T) {
	ctx := context.Background()
	now := t0
	st, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"), sqlstore.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	failed := func(key, event, token string) {
		t.Helper()
		r := store.Request{Key: key, Source: "src", EventID: event, ClientToken: token, RegionID: "cn-hangzhou", VpcID: "vpc-a",
			Params: []byte("{}"), State: store.Received, CreatedAt: now, UpdatedAt: now}
		if _, _, err := st.Insert(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Transition(ctx, key, []store.State{store.Received}, store.Failed, "",
			store.Change{AddAttempt: true, LastError: "Timeout: no answer"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	failed("k-a", "evt-a", "vpngw-derived-a")
	failed("k-b", "evt-b", "my-token")
	failed("k-c", "evt-c", "vpngw-derived-c")
	tagged := func(id string, tags ...cloud.Tag) cloud.Gateway {
		return cloud.Gateway{VpnGatewayId: id, RegionId: "cn-hangzhou", VpcId: "vpc-a", Status: "active", Tags: cloud.Tags{Tag: tags}}
	}
	gws := gateways("cn-hangzhou", "vpc-a", 120, "active")
	gws = append(gws[:60], append([]cloud.Gateway{
		tagged("vpn-of-a", cloud.Tag{Key: policy.TagSource, Value: "src"}, cloud.Tag{Key: policy.TagEventID, Value: "evt-a"}),
	}, gws[60:]...)...)
	gws = append(gws,
		tagged("vpn-of-b", cloud.Tag{Key: policy.TagSource, Value: "src"}, cloud.Tag{Key: policy.TagClientToken, Value: "my-token"}),
		tagged("vpn-not-c", cloud.Tag{Key: policy.TagSource, Value: "other"}, cloud.Tag{Key: policy.TagEventID, Value: "evt-c"}))
	api := &fakeAPI{gws: gws}
	svc, err := reconcile.New(st, api, reconcile.WithClock(func() time.Time { return now }),
		reconcile.WithOrphans(st, func() string { return policy.OrphansReport }))
	if err != nil {
		t.Fatal(err)
	}
	tickAt := func(at time.Time) (reconcile.Report, int) {
		t.Helper()
		now = at
		before := len(api.calls)
		rep, err := svc.Tick(ctx, reconcile.Options{})
		if err != nil {
			t.Fatalf("tick: %v", err)
		}
		return rep, len(api.calls) - before
	}
	rep, calls := tickAt(t0.Add(time.Minute))
	if rep.Orphaned != 2 || calls != 3 {
		t.Fatalf("first look: %+v, %d calls; want 2 orphaned in 3 calls (123 gateways)", rep, calls)
	}
	for key, gw := range map[string]string{"k-a": "vpn-of-a", "k-b": "vpn-of-b", "k-c": ""} {
		if r, err := st.Get(ctx, key); err != nil || r.GatewayID != gw {
			t.Errorf("%s: gateway %q %v, want %q", key, r.GatewayID, err, gw)
		}
	}
	if rep, calls := tickAt(t0.Add(2 * time.Minute)); rep.Orphaned != 0 || calls != 0 {
		t.Errorf("a tick within the interval: %+v, %d calls; want none", rep, calls)
	}
	if rep, calls := tickAt(t0.Add(time.Minute + reconcile.OrphanInterval + time.Second)); rep.Orphaned != 0 || calls != 3 {
		t.Errorf("a tick after the interval: %+v, %d calls; want k-c looked for again (3 calls)", rep, calls)
	}
	if rep, calls := tickAt(t0.Add(reconcile.OrphanWindow + time.Second)); rep.Orphaned != 0 || calls != 0 {
		t.Errorf("a tick after the window: %+v, %d calls; want none", rep, calls)
	}
}
