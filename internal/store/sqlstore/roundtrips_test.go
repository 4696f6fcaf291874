package sqlstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/chatreply"
	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
)

// wire sits between the store and a PostgreSQL server and counts what the
// store asks of it: connections, and round trips (each Sync of the extended
// protocol and each simple Query is one wait for the server's answer).
type wire struct {
	ln     net.Listener
	target string

	mu           sync.Mutex
	conns, trips int
}

// newWire listens on a port of its own and forwards to rawURL's server; it
// returns rawURL pointed at itself.
func newWire(t *testing.T, rawURL string) (*wire, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{ln: ln, target: u.Host}
	t.Cleanup(func() { ln.Close() })
	go w.serve()
	u.Host = ln.Addr().String()
	return w, u.String()
}

func (w *wire) serve() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", w.target)
		if err != nil {
			c.Close()
			continue
		}
		w.mu.Lock()
		w.conns++
		w.mu.Unlock()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
		go func() { w.count(c, s); s.Close() }()
	}
}

// count forwards the client's messages, counting Sync and Query.
func (w *wire) count(from io.Reader, to io.Writer) {
	tee := io.TeeReader(from, to)
	// The startup message has no type byte.
	var n [4]byte
	if _, err := io.ReadFull(tee, n[:]); err != nil {
		return
	}
	if _, err := io.CopyN(io.Discard, tee, int64(binary.BigEndian.Uint32(n[:]))-4); err != nil {
		return
	}
	var head [5]byte
	for {
		if _, err := io.ReadFull(tee, head[:]); err != nil {
			return
		}
		if head[0] == 'S' || head[0] == 'Q' {
			w.mu.Lock()
			w.trips++
			w.mu.Unlock()
		}
		if _, err := io.CopyN(io.Discard, tee, int64(binary.BigEndian.Uint32(head[1:]))-4); err != nil {
			return
		}
	}
}

// took returns the connections and round trips so far.
func (w *wire) took() (conns, trips int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conns, w.trips
}

// migratedThroughWire opens a migrated PostgreSQL store of the test's own,
// as a function does (VPNGW_MIGRATE=off), through a wire that counts what
// it asks of the server from then on.
func migratedThroughWire(t *testing.T) (*wire, *sqlstore.Store) {
	t.Helper()
	raw := testenv.StoreURL(t, "postgres")
	if err := sqlstore.Migrate(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	w, proxied := newWire(t, raw)
	s, err := sqlstore.OpenSQL(context.Background(), proxied, sqlstore.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return w, s
}

// A function starts on a migrated store with VPNGW_MIGRATE=off: opening it
// and checking its schema version is all the store work of its start. On
// PostgreSQL that is one connection and one round trip once connected: the
// check was two statements, each prepared first (a round trip of its own)
// and the second after a liveness ping of the connection just made, five
// waits for the server on every cold start.
func TestPostgresSchemaCheckIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	w, s := migratedThroughWire(t)
	if conns, trips := w.took(); conns != 0 || trips != 0 {
		t.Fatalf("opening took %d connections and %d round trips, want none", conns, trips)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if conns, trips := w.took(); conns != 1 || trips != 1 {
		t.Errorf("the schema check took %d connections and %d round trips, want 1 and 1", conns, trips)
	}
	// The first invocation's first statement follows on the same
	// connection, made a moment ago: one round trip (prepared on the way,
	// not first), with no liveness ping before it.
	if _, err := s.Unsent(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if conns, trips := w.took(); conns != 1 || trips != 2 {
		t.Errorf("after the first read: %d connections and %d round trips, want 1 and 2", conns, trips)
	}
	// And so is every later statement.
	for range 3 {
		if _, err := s.Unsent(ctx, 10); err != nil {
			t.Fatal(err)
		}
	}
	if conns, trips := w.took(); conns != 1 || trips != 5 {
		t.Errorf("after three more reads: %d connections and %d round trips, want 1 and 5", conns, trips)
	}
}

// Warm, run as a function starts, leaves the connections a first drain
// uses (one per sink at once: here two) made and idle, dialled at once
// rather than one after the other, and the schema check after it takes
// one of them: the drain dials none while the invocation waits.
func TestPostgresWarmMakesTheDrainsConnectionsAhead(t *testing.T) {
	ctx := context.Background()
	w, s := migratedThroughWire(t)
	if err := s.Warm(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if conns, trips := w.took(); conns != 2 || trips != 1 {
		t.Fatalf("start-up took %d connections and %d round trips, want 2 and 1", conns, trips)
	}
	// Two sinks' drains read the outbox at once.
	var wg sync.WaitGroup
	for _, sink := range []string{"", "chat"} {
		wg.Go(func() {
			if _, err := s.UnsentAfter(ctx, sink, 0, 100); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if conns, _ := w.took(); conns != 2 {
		t.Errorf("the drain made %d connections of its own, want none", conns-2)
	}
}

// A function instance is young: most of its statements run for the first
// time on their connection. Provision's writes on PostgreSQL (the
// request's record, its state change with its event, the sent mark) are
// each one round trip on a fresh connection too, as they are on a used
// one: a statement is prepared in the round trip of its first run (pgx
// prepared it first, a round trip more).
func TestPostgresFirstWritesAreOneRoundTripEach(t *testing.T) {
	ctx := context.Background()
	w, s := migratedThroughWire(t)
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	r := store.Request{Key: "k-trips", Source: "src", EventID: "e-trips", ClientToken: "t-trips",
		RegionID: "cn-hangzhou", VpcID: "vpc-trips", Params: []byte(`{"VpcId":"vpc-trips"}`),
		State: store.Received, CreatedAt: at, UpdatedAt: at}
	ev := store.Event{RequestKey: r.Key, Event: outgoing.Event{ID: "ev-trips", Type: "vpngw.test", Body: []byte(`{}`)}}
	var seq int64
	steps := []struct {
		name string
		run  func() error
	}{
		{"the request's record", func() error { _, _, err := s.Insert(ctx, r, nil); return err }},
		{"its state change with its event", func() error {
			_, err := s.Transition(ctx, r.Key, []store.State{store.Received}, store.Pending, "", store.Change{GatewayID: "vpn-1"}, []store.Event{ev})
			return err
		}},
		{"its event read", func() error {
			evs, err := s.Unsent(ctx, 10)
			if err == nil && len(evs) != 1 {
				err = fmt.Errorf("%d events unsent, want 1", len(evs))
			}
			if err == nil {
				seq = evs[0].Seq
			}
			return err
		}},
		{"its event's sent mark", func() error { return s.MarkSent(ctx, []int64{seq}) }},
	}
	for _, st := range steps {
		_, before := w.took()
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if _, after := w.took(); after-before != 1 {
			t.Errorf("%s took %d round trips, want 1", st.name, after-before)
		}
	}
	if conns, _ := w.took(); conns != 1 {
		t.Errorf("%d connections, want 1", conns)
	}
}

// A delivery of one request records it with InsertMany (the provision
// path's records that count against no quota): on PostgreSQL that is one
// statement, one round trip once prepared, as Insert is. It was a
// transaction of four (BEGIN, the insert, its history entry, COMMIT) on
// every request of the benchmark.
func TestPostgresRecordOfOneIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	w, s := migratedThroughWire(t)
	record := func(key string) {
		t.Helper()
		got, err := s.InsertMany(ctx, []store.Request{{Key: key, Source: "src", EventID: key, ClientToken: "t", RegionID: "cn-hangzhou"}})
		if err != nil || len(got) != 1 || !got[0].Created || got[0].Request.Key != key || got[0].Request.State != store.Received {
			t.Fatalf("InsertMany(%s) = %+v, %v, want it created, received", key, got, err)
		}
	}
	record("k1") // prepares the statement
	_, before := w.took()
	record("k2")
	if _, after := w.took(); after-before != 1 {
		t.Errorf("recording one request took %d round trips, want 1", after-before)
	}
	h, err := s.History(ctx, "k2")
	if err != nil || len(h) != 1 || h[0].State != store.Received {
		t.Errorf("history of k2 = %+v, %v, want its one received entry, written with the record", h, err)
	}
	// A key already recorded is answered from its record, not created.
	got, err := s.InsertMany(ctx, []store.Request{{Key: "k2", Source: "src", EventID: "other", ClientToken: "t", RegionID: "cn-hangzhou"}})
	if err != nil || len(got) != 1 || got[0].Created || got[0].Request.EventID != "k2" {
		t.Errorf("InsertMany of a recorded key = %+v, %v, want the first record, not created", got, err)
	}
}

// After one request, a drain of the two sinks every deployment has (the
// queue and the chat replies) reads the outbox once and marks the event
// once: two round trips on PostgreSQL, where each sink read and marked
// for itself (four), and the event is settled.
func TestPostgresDrainOfTwoSinksIsTwoRoundTrips(t *testing.T) {
	ctx := context.Background()
	w, s := migratedThroughWire(t)
	sinks := []string{store.FirstSink, "chat"}
	drain := func(key string) {
		t.Helper()
		r := store.Request{Key: key, Source: "src", EventID: key, ClientToken: "t", RegionID: "cn-hangzhou"}
		if _, _, err := s.Insert(ctx, r, []store.Event{{Event: outgoing.Event{ID: "ev-" + key, Type: "io.vpngw.test"}}}); err != nil {
			t.Fatal(err)
		}
		_, before := w.took()
		got, err := s.UnsentForEach(ctx, sinks, 100)
		if err != nil || got.Read != 1 || len(got.Of[0]) != 1 || len(got.Of[1]) != 1 {
			t.Fatalf("UnsentForEach = %+v, %v, want the one event for both sinks", got, err)
		}
		seq := []int64{got.Last}
		if err := s.MarkSentEach(ctx, []store.SinkMarks{{Sink: sinks[0], Seqs: seq}, {Sink: sinks[1], Seqs: seq}}, sinks); err != nil {
			t.Fatal(err)
		}
		if _, after := w.took(); key == "k2" && after-before != 2 {
			t.Errorf("reading and marking the event took %d round trips, want 2", after-before)
		}
	}
	drain("k1") // prepares the statements
	drain("k2")
	if got, err := s.UnsentForEach(ctx, sinks, 100); err != nil || got.Read != 0 {
		t.Errorf("UnsentForEach after the drains = %+v, %v, want nothing unsettled", got, err)
	}
}

// gatewayCreator answers every CreateVpnGateway with a gateway of its own,
// counting the calls.
type gatewayCreator struct{ calls atomic.Int64 }

func (c *gatewayCreator) Create(_ context.Context, _ events.GatewayRequest, token string) (provision.Created, error) {
	n := c.calls.Add(1)
	return provision.Created{GatewayID: fmt.Sprintf("vpn-%d", n), RequestID: "req-" + token}, nil
}

// A new request's way through provision, as one delivery (HandleAll),
// costs two round trips on PostgreSQL: its record, which says itself
// whether the key was recorded already, and its state change with its
// outcome. A read of the request came first (three): the common case, a
// request never seen, read nothing. A redelivery is still answered from
// the record, with nothing created again.
func TestPostgresNewRequestProvisionIsTwoRoundTrips(t *testing.T) {
	ctx := context.Background()
	w, s := migratedThroughWire(t)
	api := &gatewayCreator{}
	svc, err := provision.New(s, api)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1trips000000001","Bandwidth":10,"VSwitchId":"vsw-bp1trips000000001","DisasterRecoveryVSwitchId":"vsw-bp1trips000000002","Name":"trips"}`)
	deliver := func(id string) provision.Result {
		t.Helper()
		res, err := svc.HandleAll(ctx, []provision.Input{{Identity: request.Identity{Source: "src-trips", EventID: id},
			Type: events.TypeRequested, Data: data}})
		if err != nil || len(res) != 1 {
			t.Fatalf("HandleAll(%s) = %+v, %v", id, res, err)
		}
		return res[0]
	}
	deliver("warm") // prepares the statements
	_, before := w.took()
	first := deliver("new")
	_, after := w.took()
	if first.State != store.Pending || first.VpnGatewayId == "" {
		t.Fatalf("new request answered %+v, want pending with a gateway", first)
	}
	if after-before != 2 {
		t.Errorf("a new request took %d round trips, want 2 (its record, its state change)", after-before)
	}
	again := deliver("new")
	if again.State != store.Pending || again.VpnGatewayId != first.VpnGatewayId || api.calls.Load() != 2 {
		t.Errorf("redelivery answered %+v after %d API calls, want the record's pending %s and no call", again, api.calls.Load(), first.VpnGatewayId)
	}
	h, err := s.History(ctx, request.Identity{Source: "src-trips", EventID: "new"}.Key())
	if err != nil || len(h) != 2 || h[0].State != store.Received || h[1].State != store.Pending {
		t.Errorf("history = %+v, %v, want received then pending", h, err)
	}
}

// A drain after one request, of the sinks every deployment has (the queue
// and the chat replies), is two round trips on PostgreSQL: the outbox
// read, which brings each event's chat reply address with it, and the one
// mark. The chat replies' sink read the address of each event's request
// again (three).
func TestPostgresDrainWithChatRepliesIsTwoRoundTrips(t *testing.T) {
	ctx := context.Background()
	w, s := migratedThroughWire(t)
	var published atomic.Int64
	queue := outbox.PublisherFunc(func(context.Context, outgoing.Event) error { published.Add(1); return nil })
	d, err := outbox.NewSinks(s, []outbox.Sink{{Name: store.FirstSink, Pub: queue},
		{Name: chatreply.SinkName, Pub: chatreply.New(s, chatreply.Config{}), Every: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	drain := func(key string) int {
		t.Helper()
		r := store.Request{Key: key, Source: "src", EventID: key, ClientToken: "t", RegionID: "cn-hangzhou"}
		if _, _, err := s.Insert(ctx, r, []store.Event{{Event: outgoing.Event{ID: "ev-" + key, Type: "io.vpngw.test"}}}); err != nil {
			t.Fatal(err)
		}
		_, before := w.took()
		rep, err := d.Drain(ctx)
		if err != nil || rep.Published != 1 {
			t.Fatalf("Drain = %+v, %v, want the one event published to the queue", rep, err)
		}
		_, after := w.took()
		return after - before
	}
	drain("k1") // prepares the statements
	if n := drain("k2"); n != 2 {
		t.Errorf("the drain took %d round trips, want 2", n)
	}
	if got, err := s.UnsentForEach(ctx, []string{store.FirstSink, chatreply.SinkName}, 100); err != nil || got.Read != 0 {
		t.Errorf("UnsentForEach after the drains = %+v, %v, want nothing unsettled", got, err)
	}
}
