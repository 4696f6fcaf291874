package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/queue/natsembed"
)

// `make run`, Ctrl-C, `make run` on the same data directory, and the
// README's curl: a JetStream consumer sees this run's gateway. The embedded
// emulator forgets its gateways, so the store starts afresh; outcome event
// ids are deterministic, so a JetStream kept from the last run would drop
// this run's events as duplicates and show the last run's gateway instead.
func TestLocalRestartShowsThisRunsGateway(t *testing.T) {
	dir := t.TempDir()
	sample, err := events.Samples.ReadFile("testdata/requested.json")
	if err != nil {
		t.Fatal(err)
	}
	run := func() (gateway string, streamed []string, banner string) {
		cfg := localConfig(t, map[string]string{"VPNGW_DATA_DIR": dir})
		l, err := Start(context.Background(), cfg, logging.New(io.Discard, "text", nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var b bytes.Buffer
		l.Banner(&b)
		resp, err := http.Post("http://"+l.HTTPAddr+"/", "application/cloudevents+json", bytes.NewReader(sample))
		if err != nil {
			t.Fatal(err)
		}
		var out app.ProvisionResponse
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || len(out.Results) != 1 {
			t.Fatalf("post: %d %+v", resp.StatusCode, out)
		}
		return out.Results[0].VpnGatewayId, acceptedInStream(t, l.NATS), b.String()
	}
	gw1, _, _ := run()
	gw2, streamed, banner := run()
	if gw1 == gw2 || gw2 == "" {
		t.Fatalf("gateways %q then %q: want two different ones", gw1, gw2)
	}
	if len(streamed) != 1 || streamed[0] != gw2 {
		t.Errorf("after the restart the stream's accepted events name %q, want this run's %s only (the last run's was %s)", streamed, gw2, gw1)
	}
	if !strings.Contains(banner, "reset at every start, SQLite and JetStream together") {
		t.Errorf("banner does not say the state is reset:\n%s", banner)
	}
}

// acceptedInStream is the VpnGatewayId of every accepted event the stream
// holds, as a consumer that was not connected at publish time reads them.
func acceptedInStream(t *testing.T, n *natsembed.Embedded) []string {
	t.Helper()
	nc, err := nats.Connect(n.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, queue.DefaultStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var gws []string
	for range info.NumPending {
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Type string
			Data struct{ VpnGatewayId string }
		}
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == events.TypeAccepted {
			gws = append(gws, ev.Data.VpnGatewayId)
		}
	}
	return gws
}
