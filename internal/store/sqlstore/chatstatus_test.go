package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// ChatRequests finds a chat user's requests from one source, newest first,
// and one by request id or gateway id, on every backend.
func TestChatRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		for i, r := range []store.Request{
			{Key: "k1", Source: "slack:T1", EventID: "e1", ChatUser: "U1", GatewayID: "vpn-1"},
			{Key: "k2", Source: "slack:T1", EventID: "e2", ChatUser: "U1"},
			{Key: "k3", Source: "slack:T1", EventID: "e3", ChatUser: "U2"},
			{Key: "k4", Source: "slack:T9", EventID: "e4", ChatUser: "U1"},
		} {
			r.State, r.Subject, r.RegionID, r.VpcID = store.Received, "s", "cn-hangzhou", "vpc-1"
			r.CreatedAt = at.Add(time.Duration(i) * time.Minute)
			r.UpdatedAt = r.CreatedAt
			if _, _, err := s.Insert(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ChatRequests(ctx, "slack:T1", "U1", "", 10)
		if err != nil || len(got) != 2 || got[0].Key != "k2" || got[1].Key != "k1" {
			t.Fatalf("ChatRequests = %+v, %v; want k2, k1", got, err)
		}
		for _, ref := range []string{"e1", "vpn-1"} {
			got, err = s.ChatRequests(ctx, "slack:T1", "U1", ref, 1)
			if err != nil || len(got) != 1 || got[0].Key != "k1" {
				t.Fatalf("ChatRequests(%s) = %+v, %v; want k1", ref, got, err)
			}
		}
		if got, _ = s.ChatRequests(ctx, "slack:T1", "U2", "e1", 1); len(got) != 0 {
			t.Fatalf("another user's request found: %+v", got)
		}
	})
}
