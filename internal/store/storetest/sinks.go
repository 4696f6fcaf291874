package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/vpngw/vpngw/internal/store"
)

func unsentFor(t *testing.T, s store.Store, sink string) []string {
	t.Helper()
	evs, err := s.UnsentFor(context.Background(), sink, 100000)
	if err != nil {
		t.Fatalf("UnsentFor(%q): %v", sink, err)
	}
	return ids(evs)
}

// testSinkDelivery: each sink has its own delivery state. One sink's
// acknowledgements and refusals leave the other's outbox as it was; an
// event every sink acknowledged or parked is settled; unparking for one
// sink offers the event again to that sink alone.
func testSinkDelivery(t *testing.T, s store.Store) {
	ctx := context.Background()
	const a, b = store.FirstSink, "https://receiver.example/hook"
	sinks := []string{a, b}
	mustInsert(t, s, request("k-sk-a", base), event("k-sk-a", "a1"), event("k-sk-a", "a2"), event("k-sk-a", "a3"))
	all, err := s.UnsentFor(ctx, a, 100)
	if err != nil || len(all) != 3 {
		t.Fatalf("UnsentFor(a) = %v, %v; want 3 events", ids(all), err)
	}
	a1, a2, a3 := all[0].Seq, all[1].Seq, all[2].Seq
	// A drain that deferred a1 reads on after it.
	if after, err := s.UnsentAfter(ctx, a, a1, 1); err != nil || len(after) != 1 || after[0].Seq != a2 {
		t.Fatalf("UnsentAfter(a, a1, 1) = %v, %v; want [a2]", ids(after), err)
	}

	// Sink a takes everything, while b is down: b still has it all.
	if err := s.MarkSentFor(ctx, a, []int64{a1, a2, a3}, sinks); err != nil {
		t.Fatalf("MarkSentFor(a): %v", err)
	}
	if got := unsentFor(t, s, a); len(got) != 0 {
		t.Errorf("UnsentFor(a) after a acknowledged all = %v, want none", got)
	}
	if got := unsentFor(t, s, b); !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Errorf("UnsentFor(b) = %v, want [a1 a2 a3]: a's acknowledgements are not b's", got)
	}
	// The old single-sink view is the first sink's.
	if got := ids(unsentAll(t, s)); len(got) != 0 {
		t.Errorf("Unsent = %v, want the first sink's view (none)", got)
	}

	// b refuses a2 for good: parked for b alone, b goes on.
	if err := s.ParkFor(ctx, b, a2, "422 from the receiver", sinks); err != nil {
		t.Fatalf("ParkFor(b, a2): %v", err)
	}
	if got := unsentFor(t, s, b); !slices.Equal(got, []string{"a1", "a3"}) {
		t.Errorf("UnsentFor(b) after parking a2 = %v, want [a1 a3]", got)
	}
	if n, err := s.CountParkedFor(ctx, b); err != nil || n != 1 {
		t.Errorf("CountParkedFor(b) = %d, %v; want 1", n, err)
	}
	if n, err := s.CountParkedFor(ctx, a); err != nil || n != 0 {
		t.Errorf("CountParkedFor(a) = %d, %v; want 0: b's refusal is b's", n, err)
	}
	parked, err := s.ParkedFor(ctx, b, 10)
	if err != nil || len(parked) != 1 || parked[0].ID != "a2" || parked[0].ParkedReason != "422 from the receiver" || parked[0].ParkedAt.IsZero() {
		t.Fatalf("ParkedFor(b) = %+v, %v; want a2 with its reason and time", parked, err)
	}
	if p, _ := s.ParkedFor(ctx, a, 10); len(p) != 0 {
		t.Errorf("ParkedFor(a) = %v, want none", ids(p))
	}
	if err := s.MarkSentFor(ctx, b, []int64{a1, a3}, sinks); err != nil {
		t.Fatalf("MarkSentFor(b): %v", err)
	}
	for _, k := range sinks {
		if got := unsentFor(t, s, k); len(got) != 0 {
			t.Errorf("UnsentFor(%q) once settled = %v, want none", k, got)
		}
	}
	// A sink added later starts with what is not settled, not the history.
	if got := unsentFor(t, s, "kafka://broker/topic"); len(got) != 0 {
		t.Errorf("UnsentFor(a new sink) = %v, want none: every event was settled", got)
	}

	// Parking or acknowledging again changes nothing.
	if err := s.ParkFor(ctx, a, a1, "late", sinks); err != nil {
		t.Fatalf("ParkFor(a, a1) after a acknowledged it: %v", err)
	}
	if n, _ := s.CountParkedFor(ctx, a); n != 0 {
		t.Errorf("parking an acknowledged event parked it")
	}
	if err := s.MarkSentFor(ctx, b, []int64{a1, 1 << 40}, sinks); err != nil {
		t.Errorf("MarkSentFor again and unknown: %v", err)
	}

	// Replay for b: b gets a2 again, a does not.
	if n, err := s.UnparkFor(ctx, b, []int64{a2, a1}); err != nil || n != 1 {
		t.Fatalf("UnparkFor(b, a2, a1) = %d, %v; want 1 (a1 was not parked)", n, err)
	}
	if got := unsentFor(t, s, b); !slices.Equal(got, []string{"a2"}) {
		t.Errorf("UnsentFor(b) after replay = %v, want [a2]", got)
	}
	if got := unsentFor(t, s, a); len(got) != 0 {
		t.Errorf("UnsentFor(a) after b's replay = %v, want none: a acknowledged a2 already", got)
	}
	if err := s.MarkSentFor(ctx, b, []int64{a2}, sinks); err != nil {
		t.Fatal(err)
	}
	if got := unsentFor(t, s, b); len(got) != 0 {
		t.Errorf("UnsentFor(b) after sending the replay = %v, want none", got)
	}
	if n, _ := s.CountParkedFor(ctx, b); n != 0 {
		t.Errorf("CountParkedFor(b) after replay = %d, want 0", n)
	}
}

// testSinkRoute: a request's sinks (the policy's routing) are kept with the
// request and come back with each of its events, for every sink's drain; a
// request without any has none, and a name with a comma is refused.
func testSinkRoute(t *testing.T, s store.Store) {
	ctx := context.Background()
	routed := request("k-route-a", base)
	routed.Sinks = []string{"tickets", "finance"}
	mustInsert(t, s, routed, event("k-route-a", "r1"))
	mustInsert(t, s, request("k-route-b", base), event("k-route-b", "r2"))
	if got, err := s.Get(ctx, "k-route-a"); err != nil || !slices.Equal(got.Sinks, routed.Sinks) {
		t.Errorf("Get(k-route-a).Sinks = %q, %v; want %q", got.Sinks, err, routed.Sinks)
	}
	for _, sink := range []string{store.FirstSink, "https://receiver.example/hook"} {
		evs, err := s.UnsentFor(ctx, sink, 100)
		if err != nil {
			t.Fatalf("UnsentFor(%q): %v", sink, err)
		}
		got := map[string][]string{}
		for _, e := range evs {
			got[e.ID] = e.Sinks
		}
		if !slices.Equal(got["r1"], routed.Sinks) || got["r2"] != nil {
			t.Errorf("UnsentFor(%q) sinks = %q, want r1 routed to %q and r2 to none", sink, got, routed.Sinks)
		}
	}
	bad := request("k-route-c", base)
	bad.Sinks = []string{"a,b"}
	if _, _, err := s.Insert(ctx, bad, nil); err == nil {
		t.Error("Insert with sink name \"a,b\" succeeded, want a refusal: names are kept joined by commas")
	}
}

// testUnsentForEach: one read of the outbox for several sinks gives each
// the events it has neither acknowledged nor parked, as UnsentFor would,
// up to the limit of events read; settled events are read for none.
func testUnsentForEach(t *testing.T, s store.Store) {
	ctx := context.Background()
	const a, b = store.FirstSink, "https://receiver.example/hook"
	sinks := []string{a, b}
	mustInsert(t, s, request("k-each-a", base), event("k-each-a", "e1"), event("k-each-a", "e2"), event("k-each-a", "e3"), event("k-each-a", "e4"))
	all, err := s.UnsentFor(ctx, a, 100)
	if err != nil || len(all) != 4 {
		t.Fatalf("UnsentFor(a) = %v, %v; want 4 events", ids(all), err)
	}
	// e1 settled (both took it), e2 taken by a, e3 parked for b.
	if err := s.MarkSentFor(ctx, a, []int64{all[0].Seq, all[1].Seq}, sinks); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSentFor(ctx, b, []int64{all[0].Seq}, sinks); err != nil {
		t.Fatal(err)
	}
	if err := s.ParkFor(ctx, b, all[2].Seq, "422", sinks); err != nil {
		t.Fatal(err)
	}
	got, err := s.UnsentForEach(ctx, []string{b, a, "new"}, 100)
	if err != nil {
		t.Fatalf("UnsentForEach: %v", err)
	}
	if got.Read != 3 || got.Last != all[3].Seq || len(got.Of) != 3 {
		t.Fatalf("UnsentForEach read %d events up to seq %d for %d sinks, want 3 up to %d (e2 e3 e4) for 3", got.Read, got.Last, len(got.Of), all[3].Seq)
	}
	for i, want := range [][]string{{"e2", "e4"}, {"e3", "e4"}, {"e2", "e3", "e4"}} {
		if g := ids(got.Of[i]); !slices.Equal(g, want) {
			t.Errorf("UnsentForEach for sink %d = %v, want %v", i, g, want)
		}
	}
	if e := got.Of[0][0]; e.RequestKey != "k-each-a" || e.Type == "" || e.CreatedAt.IsZero() {
		t.Errorf("UnsentForEach event = %+v, want it whole (request key, type, time)", e)
	}
	// The limit counts events read, whoever lacks them.
	got, err = s.UnsentForEach(ctx, sinks, 1)
	if err != nil || got.Read != 1 || got.Last != all[1].Seq || !slices.Equal(ids(got.Of[1]), []string{"e2"}) || len(got.Of[0]) != 0 {
		t.Errorf("UnsentForEach(limit 1) = %+v, %v; want e2 read, for b only", got, err)
	}
	if got, err := s.UnsentForEach(ctx, sinks, 0); err != nil || got.Read != 0 {
		t.Errorf("UnsentForEach(limit 0) = %+v, %v; want nothing read", got, err)
	}
}

// testConcurrentMarksSettle: two sinks marking the same events at the
// same moment (a drain runs its sinks side by side) leave them settled.
// Each mark counted the other sinks' rows it could see, and under READ
// COMMITTED neither saw the other's: both rows written, the event never
// settled, read by every drain after (PostgreSQL, MySQL).
func testConcurrentMarksSettle(t *testing.T, s store.Store) {
	ctx := context.Background()
	const a, b = store.FirstSink, "chat"
	sinks := []string{a, b}
	const n = 30
	evs := make([]store.Event, n)
	for i := range evs {
		evs[i] = event("k-race", fmt.Sprintf("r%02d", i))
	}
	mustInsert(t, s, request("k-race", base), evs...)
	all, err := s.UnsentFor(ctx, a, 100)
	if err != nil || len(all) != n {
		t.Fatalf("UnsentFor(a) = %v, %v; want %d events", ids(all), err, n)
	}
	for _, e := range all {
		atOnce(len(sinks), func(i int) {
			if err := s.MarkSentFor(ctx, sinks[i], []int64{e.Seq}, sinks); err != nil {
				t.Errorf("MarkSentFor(%q, %d): %v", sinks[i], e.Seq, err)
			}
		})
	}
	got, err := s.UnsentForEach(ctx, sinks, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.Read != 0 {
		t.Errorf("%d of %d events both sinks acknowledged are still unsettled, read by every drain", got.Read, n)
	}
}

// testMarkSentEach: several sinks' acknowledgements written at once are
// each sink's, as MarkSentFor writes them one sink at a time; an event
// every sink has its row for, these included, is settled, and one some
// sink still lacks is not.
func testMarkSentEach(t *testing.T, s store.Store) {
	ctx := context.Background()
	const a, b, c = store.FirstSink, "chat", "https://receiver.example/hook"
	sinks := []string{a, b, c}
	mustInsert(t, s, request("k-each-m", base), event("k-each-m", "m1"), event("k-each-m", "m2"), event("k-each-m", "m3"))
	all, err := s.UnsentFor(ctx, a, 100)
	if err != nil || len(all) != 3 {
		t.Fatalf("UnsentFor(a) = %v, %v; want 3 events", ids(all), err)
	}
	m1, m2, m3 := all[0].Seq, all[1].Seq, all[2].Seq
	// c took m1 earlier; now a and b take m1 and m2 together, a m3 too,
	// and an unknown seq is ignored.
	if err := s.MarkSentFor(ctx, c, []int64{m1}, sinks); err != nil {
		t.Fatal(err)
	}
	err = s.MarkSentEach(ctx, []store.SinkMarks{{Sink: a, Seqs: []int64{m1, m2, m3}}, {Sink: b, Seqs: []int64{m1, m2, 1 << 40}}, {Sink: c}}, sinks)
	if err != nil {
		t.Fatalf("MarkSentEach: %v", err)
	}
	got, err := s.UnsentForEach(ctx, sinks, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.Read != 2 {
		t.Errorf("%d events unsettled, want 2 (m2 and m3: c has neither)", got.Read)
	}
	for i, want := range [][]string{nil, {"m3"}, {"m2", "m3"}} {
		if g := ids(got.Of[i]); !slices.Equal(g, want) {
			t.Errorf("sink %d lacks %v, want %v", i, g, want)
		}
	}
	// Again, and the rest: every event settled.
	if err := s.MarkSentEach(ctx, []store.SinkMarks{{Sink: b, Seqs: []int64{m2, m3}}, {Sink: c, Seqs: []int64{m2, m3}}}, sinks); err != nil {
		t.Fatalf("MarkSentEach: %v", err)
	}
	if got, err := s.UnsentForEach(ctx, sinks, 100); err != nil || got.Read != 0 {
		t.Errorf("UnsentForEach after every sink took every event = %+v, %v; want nothing unsettled", got, err)
	}
	if err := s.MarkSentEach(ctx, nil, sinks); err != nil {
		t.Errorf("MarkSentEach(nothing) = %v", err)
	}
}
