package vpcclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/testclock"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// TestDeleteThroughTheSDK deletes a gateway through the SDK: the listing
// reports its tags before, "deleting" right after, nothing once it is gone;
// the same token deletes once; a refusal comes back classified permanent
// with the API's code.
func TestDeleteThroughTheSDK(t *testing.T) {
	clock := testclock.New(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	api := vpcsim.New(vpcsim.WithClock(clock.Now), vpcsim.WithDeletionDelay(20*time.Second))
	c := newClient(t, api, vpcclient.Config{MaxAttempts: 1})
	ctx := context.Background()
	res, err := c.CreateVpnGateway(ctx, request(), "create-1")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	list := func() []cloud.Gateway {
		p, err := c.DescribeVpnGateways(ctx, "cn-hangzhou", cloud.Filter{VpnGatewayId: res.VpnGatewayID}, 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		return p.Gateways
	}
	gs := list()
	if len(gs) != 1 {
		t.Fatalf("listed %d", len(gs))
	}
	if v, ok := gs[0].Tags.Value("cost-centre"); !ok || v != "cc-42" {
		t.Errorf("tags %+v, want cost-centre=cc-42", gs[0].Tags)
	}

	if err := api.SetIpsecConnections(res.VpnGatewayID, 1); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteVpnGateway(ctx, "cn-hangzhou", res.VpnGatewayID, "vpngw-d-1")
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Kind != cloud.Permanent || ce.Code != "DependencyViolation.VpnConnection" {
		t.Fatalf("delete with a connection attached = %v, want a permanent DependencyViolation.VpnConnection", err)
	}
	if err := api.SetIpsecConnections(res.VpnGatewayID, 0); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a redelivery sends the same token
		if id, err := c.DeleteVpnGateway(ctx, "cn-hangzhou", res.VpnGatewayID, "vpngw-d-1"); err != nil || id == "" {
			t.Fatalf("delete = %q, %v", id, err)
		}
	}
	if gs := list(); len(gs) != 1 || gs[0].Status != "deleting" {
		t.Fatalf("right after delete: %+v", gs)
	}
	clock.Advance(21 * time.Second)
	if gs := list(); len(gs) != 0 {
		t.Fatalf("after the deletion delay: %+v", gs)
	}
	if n := c.Calls(vpcclient.ActionDeleteVpnGateway); n != 3 {
		t.Errorf("DeleteVpnGateway calls = %d, want 3", n)
	}
}
