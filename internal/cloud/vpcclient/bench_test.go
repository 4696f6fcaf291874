package vpcclient_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/vpcsim"
)

// BenchmarkCreateVpnGateway is one CreateVpnGateway through the client
// against the in-process emulator, each with a ClientToken of its own: the
// call every provision request makes. allocs/op includes the emulator's.
func BenchmarkCreateVpnGateway(b *testing.B) {
	api := vpcsim.New()
	c := newClient(b, api, vpcclient.Config{})
	req := request()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := c.CreateVpnGateway(ctx, req, "bench-"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
}
