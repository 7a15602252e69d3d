// Package storetest is the conformance suite of the eventstore.Store
// contract. Every backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) eventstore.Store { return openFresh(t) })
//	}
//
// newStore must return an empty store; the suite closes it.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, eventstore.Store)
	}{
		{"expected_revision_cases", testExpectedRevision},
		{"racing_appenders_one_winner_per_revision", testRace},
		{"idempotent_reappend", testIdempotent},
		{"batch_is_atomic", testAtomicBatch},
		{"invalid_input_writes_nothing", testInvalidInput},
		{"long_stream_read_back_in_order", testLongStream},
		{"read_all_pages_in_position_order", testReadAllPaging},
		{"subscriber_mid_way_with_concurrent_writers", testSubscribeConcurrent},
		{"subscribe_stops_on_cancel_and_handler_error", testSubscribeCancel},
		{"cancelled_context", testCancelledContext},
		{"hash_chain_verifies", testHashChain},
		{"envelope_round_trip", testEnvelopeRoundTrip},
		{"claim_has_one_owner", testClaimOwner},
		{"claims_all_or_none", testClaimsAllOrNone},
		{"racing_claims_one_winner", testClaimRace},
		{"relying_on_claims_refused_once_a_stream_claimed_nothing", testEveryStreamClaimed},
		{"concurrent_multi_event_appends_to_new_streams", testConcurrentNewStreams},
		{"cancelled_while_in_flight", testCancelInFlight},
		{"command_digest_kept_outside_the_hash", testCommandDigest},
		{"leaves_as_read_all_gives_them", testLeaves},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// Event returns a valid event with a fresh id and a small JSON body.
func Event(typ string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          typ,
		SchemaVersion: 1,
		OccurredOn:    "2020-01-01",
		Actor:         "storetest",
		CommandID:     fmt.Sprintf("cmd-%d", n),
		CorrelationID: "corr",
		CausationID:   "cause",
		Data:          json.RawMessage(fmt.Sprintf(`{"n": %d, "text": "événement"}`, n)),
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mustHead returns the store's head, failing the test on an error.
func mustHead(t *testing.T, ctx context.Context, s eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := s.Head(ctx)
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctxT(t), stream, exp, evs)
	if err != nil {
		t.Fatalf("append to %s (expected %s): %v", stream, exp, err)
	}
	return res
}

func wantWrongRevision(t *testing.T, err error, stream string, actual int64) {
	t.Helper()
	var wre *eventstore.WrongRevisionError
	if !errors.As(err, &wre) {
		t.Fatalf("got %v, want *WrongRevisionError", err)
	}
	if !errors.Is(err, eventstore.ErrWrongRevision) {
		t.Fatalf("%v does not match ErrWrongRevision", err)
	}
	if wre.Stream != stream || wre.Actual != actual {
		t.Fatalf("WrongRevisionError{Stream:%q Actual:%d}, want stream %q actual %d", wre.Stream, wre.Actual, stream, actual)
	}
}

func allEvents(t *testing.T, s eventstore.Store) []eventstore.Envelope {
	t.Helper()
	var out []eventstore.Envelope
	var after eventstore.Position
	for {
		b, err := s.ReadAll(ctxT(t), after, 500)
		if err != nil {
			t.Fatalf("read all: %v", err)
		}
		out = append(out, b...)
		if len(b) < 500 {
			return out
		}
		after = b[len(b)-1].Position
	}
}

func testExpectedRevision(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	// On a stream that does not exist.
	_, err := s.Append(ctx, "s-1", eventstore.StreamExists(), []eventstore.EventData{Event("A", 0)})
	wantWrongRevision(t, err, "s-1", eventstore.NoRevision)
	_, err = s.Append(ctx, "s-1", eventstore.Exact(0), []eventstore.EventData{Event("A", 0)})
	wantWrongRevision(t, err, "s-1", eventstore.NoRevision)

	res := mustAppend(t, s, "s-1", eventstore.NoStream(), Event("A", 1), Event("B", 2))
	if res.FirstRevision != 0 || res.LastRevision != 1 || res.Duplicate {
		t.Fatalf("first append: %+v, want revisions 0..1", res)
	}
	if res.LastPosition == 0 || (res.FirstPosition != 0 && res.LastPosition <= res.FirstPosition) {
		t.Fatalf("positions %d..%d do not increase", res.FirstPosition, res.LastPosition)
	}
	// On a stream at revision 1.
	_, err = s.Append(ctx, "s-1", eventstore.NoStream(), []eventstore.EventData{Event("A", 3)})
	wantWrongRevision(t, err, "s-1", 1)
	_, err = s.Append(ctx, "s-1", eventstore.Exact(0), []eventstore.EventData{Event("A", 3)})
	wantWrongRevision(t, err, "s-1", 1)
	_, err = s.Append(ctx, "s-1", eventstore.Exact(2), []eventstore.EventData{Event("A", 3)})
	wantWrongRevision(t, err, "s-1", 1)

	if r := mustAppend(t, s, "s-1", eventstore.Exact(1), Event("C", 3)); r.FirstRevision != 2 {
		t.Fatalf("exact(1) append got revision %d, want 2", r.FirstRevision)
	}
	if r := mustAppend(t, s, "s-1", eventstore.StreamExists(), Event("C", 4)); r.FirstRevision != 3 {
		t.Fatalf("stream-exists append got revision %d, want 3", r.FirstRevision)
	}
	if r := mustAppend(t, s, "s-1", eventstore.Any(), Event("C", 5)); r.FirstRevision != 4 {
		t.Fatalf("any append got revision %d, want 4", r.FirstRevision)
	}
	if r := mustAppend(t, s, "s-2", eventstore.Any(), Event("C", 6)); r.FirstRevision != 0 {
		t.Fatalf("any append on a new stream got revision %d, want 0", r.FirstRevision)
	}
	evs, err := s.ReadStream(ctx, "s-1", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 {
		t.Fatalf("stream s-1 has %d events, want 5 (rejected appends must write nothing)", len(evs))
	}
	for i, e := range evs {
		if e.Revision != uint64(i) || e.Stream != "s-1" {
			t.Fatalf("event %d: stream %q revision %d", i, e.Stream, e.Revision)
		}
	}
	if evs, _ := s.ReadStream(ctx, "s-1", 3, 100); len(evs) != 2 || evs[0].Revision != 3 {
		t.Fatalf("read from revision 3: %d events", len(evs))
	}
	if evs, _ := s.ReadStream(ctx, "nope", 0, 100); len(evs) != 0 {
		t.Fatalf("a missing stream reads %d events, want 0", len(evs))
	}
}

func testRace(t *testing.T, s eventstore.Store) {
	const writers, revisions = 20, 10
	stream := "race-" + uuid.NewString()
	for rev := 0; rev < revisions; rev++ {
		exp := eventstore.NoStream()
		if rev > 0 {
			exp = eventstore.Exact(uint64(rev - 1))
		}
		var wins, losses atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.Append(context.Background(), stream, exp, []eventstore.EventData{Event("Raced", w)})
				var wre *eventstore.WrongRevisionError
				switch {
				case err == nil:
					wins.Add(1)
				case errors.As(err, &wre):
					if wre.Actual != int64(rev) {
						errs <- fmt.Errorf("loser saw actual %d, want %d", wre.Actual, rev)
					}
					losses.Add(1)
				default:
					errs <- err
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if wins.Load() != 1 || losses.Load() != writers-1 {
			t.Fatalf("revision %d: %d winners and %d losers, want 1 and %d", rev, wins.Load(), losses.Load(), writers-1)
		}
	}
	evs, err := s.ReadStream(ctxT(t), stream, 0, 100)
	if err != nil || len(evs) != revisions {
		t.Fatalf("stream holds %d events (%v), want %d", len(evs), err, revisions)
	}
}

func testIdempotent(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	mustAppend(t, s, "other", eventstore.Any(), Event("X", 0))
	batch := []eventstore.EventData{Event("A", 1), Event("B", 2)}
	first := mustAppend(t, s, "idem", eventstore.NoStream(), batch...)
	mustAppend(t, s, "idem", eventstore.Exact(1), Event("C", 3))

	// The retry carries a stale expected revision: it must still return the
	// original result.
	again, err := s.Append(ctx, "idem", eventstore.NoStream(), batch)
	if err != nil {
		t.Fatalf("re-append: %v", err)
	}
	// Positions are compared where the backend reports them on both sides
	// (EventStoreDB does not know them when reading a stream).
	samePos := func(a, b eventstore.Position) bool { return a == 0 || b == 0 || a == b }
	if !again.Duplicate || !samePos(again.FirstPosition, first.FirstPosition) || !samePos(again.LastPosition, first.LastPosition) ||
		again.FirstRevision != first.FirstRevision || again.LastRevision != first.LastRevision {
		t.Fatalf("re-append returned %+v, want the original %+v marked duplicate", again, first)
	}
	if evs, _ := s.ReadStream(ctx, "idem", 0, 100); len(evs) != 3 {
		t.Fatalf("stream holds %d events after re-append, want 3", len(evs))
	}

	changed := batch[0]
	changed.Data = json.RawMessage(`{"n": 999}`)
	if _, err := s.Append(ctx, "idem", eventstore.Any(), []eventstore.EventData{changed}); !errors.Is(err, eventstore.ErrEventIDConflict) {
		t.Fatalf("same id, other data: got %v, want ErrEventIDConflict", err)
	}
	partial := []eventstore.EventData{batch[1], Event("D", 4)}
	if _, err := s.Append(ctx, "idem", eventstore.Any(), partial); !errors.Is(err, eventstore.ErrEventIDConflict) {
		t.Fatalf("batch partly stored: got %v, want ErrEventIDConflict", err)
	}
	if n := len(allEvents(t, s)); n != 4 {
		t.Fatalf("log holds %d events, want 4", n)
	}
}

func testAtomicBatch(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	mustAppend(t, s, "atomic", eventstore.NoStream(), Event("A", 0))
	head := mustHead(t, ctx, s)
	// A batch that loses on its revision writes none of its events.
	big := make([]eventstore.EventData, 50)
	for i := range big {
		big[i] = Event("B", i)
	}
	if _, err := s.Append(ctx, "atomic", eventstore.Exact(5), big); !errors.Is(err, eventstore.ErrWrongRevision) {
		t.Fatalf("got %v, want wrong revision", err)
	}
	if h := mustHead(t, ctx, s); h != head {
		t.Fatalf("head moved from %d to %d after a rejected batch", head, h)
	}
	res := mustAppend(t, s, "atomic", eventstore.Exact(0), big...)
	if res.LastRevision != 50 || res.LastPosition == 0 || (res.FirstPosition != 0 && uint64(res.LastPosition-res.FirstPosition) < 49) {
		t.Fatalf("batch result %+v", res)
	}
}

func testInvalidInput(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	good := Event("A", 0)
	cases := []struct {
		name   string
		stream string
		events []eventstore.EventData
		field  string
	}{
		{"empty_stream", "", []eventstore.EventData{good}, "stream"},
		{"no_events", "s", nil, "events"},
		{"zero_id", "s", []eventstore.EventData{{Type: "A", Data: json.RawMessage(`{}`)}}, "id"},
		{"empty_type", "s", []eventstore.EventData{{ID: uuid.New(), Data: json.RawMessage(`{}`)}}, "type"},
		{"data_not_json", "s", []eventstore.EventData{{ID: uuid.New(), Type: "A", Data: json.RawMessage(`{"a":`)}}, "data"},
		{"data_empty", "s", []eventstore.EventData{{ID: uuid.New(), Type: "A"}}, "data"},
		{"bad_business_date", "s", []eventstore.EventData{{ID: uuid.New(), Type: "A", OccurredOn: "2020-13-01", Data: json.RawMessage(`{}`)}}, "occurred_on"},
		{"duplicate_id_in_batch", "s", []eventstore.EventData{good, good}, "id"},
		{"bad_event_after_good_one", "s", []eventstore.EventData{Event("A", 1), {ID: uuid.New(), Type: "", Data: json.RawMessage(`{}`)}}, "type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Append(ctx, tc.stream, eventstore.Any(), tc.events)
			var ie *eventstore.InvalidEventError
			if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrInvalidEvent) {
				t.Fatalf("got %v, want *InvalidEventError", err)
			}
			if ie.Field != tc.field {
				t.Fatalf("error names field %q, want %q (%v)", ie.Field, tc.field, err)
			}
		})
	}
	if h := mustHead(t, ctx, s); h != 0 {
		t.Fatalf("invalid appends wrote events: head is %d", h)
	}
}

func testLongStream(t *testing.T, s eventstore.Store) {
	const total, batch = 10000, 250
	ctx := ctxT(t)
	for i := 0; i < total; i += batch {
		evs := make([]eventstore.EventData, batch)
		for j := range evs {
			evs[j] = Event("Long", i+j)
		}
		exp := eventstore.NoStream()
		if i > 0 {
			exp = eventstore.Exact(uint64(i - 1))
		}
		mustAppend(t, s, "long", exp, evs...)
	}
	var rev uint64
	for rev < total {
		evs, err := s.ReadStream(ctx, "long", rev, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Fatalf("stream ends at revision %d, want %d events", rev, total)
		}
		for _, e := range evs {
			var body struct{ N int }
			if err := json.Unmarshal(e.Data, &body); err != nil {
				t.Fatal(err)
			}
			if e.Revision != rev || body.N != int(rev) {
				t.Fatalf("read revision %d (n=%d), want %d", e.Revision, body.N, rev)
			}
			rev++
		}
	}
	if extra, _ := s.ReadStream(ctx, "long", total, 10); len(extra) != 0 {
		t.Fatalf("%d events past the end", len(extra))
	}
}

func testReadAllPaging(t *testing.T, s eventstore.Store) {
	for i := 0; i < 30; i++ {
		mustAppend(t, s, fmt.Sprintf("p-%d", i%4), eventstore.Any(), Event("P", i))
	}
	all := allEvents(t, s)
	if len(all) != 30 {
		t.Fatalf("read %d events, want 30", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Position <= all[i-1].Position {
			t.Fatalf("positions not increasing at %d: %d then %d", i, all[i-1].Position, all[i].Position)
		}
	}
	page, err := s.ReadAll(ctxT(t), all[9].Position, 7)
	if err != nil || len(page) != 7 || page[0].Position != all[10].Position {
		t.Fatalf("page after position %d: %d events (%v)", all[9].Position, len(page), err)
	}
	if h := mustHead(t, ctxT(t), s); h != all[29].Position {
		t.Fatalf("head %d, want %d", h, all[29].Position)
	}
}

func testSubscribeConcurrent(t *testing.T, s eventstore.Store) {
	const writers, perWriter, before = 4, 250, 100
	for i := 0; i < before; i++ {
		mustAppend(t, s, fmt.Sprintf("pre-%d", i%7), eventstore.Any(), Event("Pre", i))
	}
	prefix := allEvents(t, s)
	mid := prefix[before/2-1].Position // subscribe from half-way through what exists

	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	want := before/2 + writers*perWriter
	var got []eventstore.Envelope
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(ctx, mid, func(b []eventstore.Envelope) error {
			got = append(got, b...)
			if len(got) >= want {
				cancel()
			}
			return nil
		})
	}()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				evs := []eventstore.EventData{Event("Live", w*perWriter+i)}
				if _, err := s.Append(context.Background(), fmt.Sprintf("live-%d", w), eventstore.Any(), evs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("subscribe returned %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("subscriber saw %d of %d events within a minute", len(got), want)
	}
	all := allEvents(t, s)
	expect := all[before/2:]
	if len(got) != len(expect) {
		t.Fatalf("subscriber saw %d events, want %d", len(got), len(expect))
	}
	seen := make(map[uuid.UUID]bool, len(got))
	for i := range got {
		if seen[got[i].EventID] {
			t.Fatalf("event %s delivered twice", got[i].EventID)
		}
		seen[got[i].EventID] = true
		if got[i].EventID != expect[i].EventID || got[i].Position != expect[i].Position {
			t.Fatalf("delivery %d: position %d, want %d (global order)", i, got[i].Position, expect[i].Position)
		}
	}
}

func testSubscribeCancel(t *testing.T, s eventstore.Store) {
	mustAppend(t, s, "c", eventstore.Any(), Event("A", 0))
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	delivered := make(chan struct{}, 1)
	go func() {
		done <- s.Subscribe(ctx, 0, func([]eventstore.Envelope) error {
			select {
			case delivered <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	select { // cancel once the subscription runs: it has delivered the event
	case <-delivered:
	case err := <-done:
		t.Fatalf("Subscribe returned before delivering: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Subscribe delivered nothing")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Subscribe did not return after cancel")
	}
	boom := errors.New("boom")
	err := s.Subscribe(ctxT(t), 0, func([]eventstore.Envelope) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("handler error: got %v, want boom", err)
	}
}

func testCancelledContext(t *testing.T, s eventstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, "x", eventstore.Any(), []eventstore.EventData{Event("A", 0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context: %v", err)
	}
	if _, err := s.ReadAll(ctx, 0, 10); err == nil {
		t.Fatal("read all with a cancelled context succeeded")
	}
	if h := mustHead(t, ctxT(t), s); h != 0 {
		t.Fatalf("cancelled append wrote: head %d", h)
	}
}

func testHashChain(t *testing.T, s eventstore.Store) {
	for i := 0; i < 40; i++ {
		mustAppend(t, s, fmt.Sprintf("h-%d", i%3), eventstore.Any(), Event("H", i), Event("H2", i))
	}
	rep, err := eventstore.Verify(ctxT(t), s)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Events != 80 || rep.Streams != 3 {
		t.Fatalf("verify saw %d events in %d streams, want 80 in 3", rep.Events, rep.Streams)
	}
	evs, _ := s.ReadStream(ctxT(t), "h-1", 0, 100)
	var zero eventstore.Hash
	if evs[0].PrevHash != zero {
		t.Fatalf("first event's prev_hash is %s, want zeros", evs[0].PrevHash)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].PrevHash != evs[i-1].Hash {
			t.Fatalf("revision %d: prev_hash does not chain", i)
		}
	}
}

func testEnvelopeRoundTrip(t *testing.T, s eventstore.Store) {
	in := Event("RoundTrip", 7)
	in.Data = json.RawMessage("{\n  \"amount\": \"60000.00\",\n  \"n\": 7\n}")
	before := time.Now().Add(-time.Second)
	res := mustAppend(t, s, "rt", eventstore.NoStream(), in)
	evs, err := s.ReadStream(ctxT(t), "rt", 0, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("read back: %v", err)
	}
	e := evs[0]
	if e.EventID != in.ID || e.Type != in.Type || e.SchemaVersion != 1 || e.OccurredOn != in.OccurredOn ||
		e.Actor != in.Actor || e.CommandID != in.CommandID || e.CorrelationID != in.CorrelationID ||
		e.CausationID != in.CausationID || (e.Position != 0 && res.FirstPosition != 0 && e.Position != res.FirstPosition) {
		t.Fatalf("envelope %+v does not hold what was appended (%+v)", e, in)
	}
	if string(e.Data) != `{"amount":"60000.00","n":7}` {
		t.Fatalf("data stored as %s, want the compact form", e.Data)
	}
	if e.RecordedAt.Before(before) || e.RecordedAt.After(time.Now().Add(time.Second)) || e.RecordedAt.Location() != time.UTC {
		t.Fatalf("recorded_at %v is not the append time in UTC", e.RecordedAt)
	}
	if eventstore.ComputeHash(e.PrevHash, &e) != e.Hash {
		t.Fatal("hash does not verify after a round trip")
	}
}

func wantClaimed(t *testing.T, err error, key, stream, owner string) {
	t.Helper()
	var ce *eventstore.ClaimedError
	if !errors.As(err, &ce) || !errors.Is(err, eventstore.ErrClaimed) {
		t.Fatalf("got %v, want *ClaimedError", err)
	}
	if ce.Key != key || ce.Stream != stream || ce.Owner != owner {
		t.Fatalf("ClaimedError{Key:%q Stream:%q Owner:%q}, want %q, %q, %q", ce.Key, ce.Stream, ce.Owner, key, stream, owner)
	}
}

// A key belongs to the first stream that claims it: another stream's claim
// is refused and writes nothing; the owner may claim it again; a retried
// append with its claim is a duplicate; an append refused for its revision
// claims nothing.
func testClaimOwner(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	first := []eventstore.EventData{Event("Signed", 1)}
	mustAppend(t, s, "a-1", eventstore.Any(), Event("Other", 0))
	if _, err := s.Append(ctx, "a-1", eventstore.NoStream(), []eventstore.EventData{Event("X", 9)}, eventstore.Claim("k-lost")); !errors.Is(err, eventstore.ErrWrongRevision) {
		t.Fatalf("append refused for its revision: %v", err)
	}
	if _, err := s.Append(ctx, "cpts-1", eventstore.NoStream(), first, eventstore.Claim("k")); err != nil {
		t.Fatal(err)
	}
	head := mustHead(t, ctx, s)
	_, err := s.Append(ctx, "assistant-1", eventstore.NoStream(), []eventstore.EventData{Event("Signed", 2)}, eventstore.Claim("k"))
	wantClaimed(t, err, "k", "assistant-1", "cpts-1")
	_, err = s.Append(ctx, "assistant-1", eventstore.NoStream(), []eventstore.EventData{Event("Signed", 3), Event("More", 4)}, eventstore.Claim("k"))
	wantClaimed(t, err, "k", "assistant-1", "cpts-1")
	if evs, _ := s.ReadStream(ctx, "assistant-1", 0, 10); len(evs) != 0 {
		t.Fatalf("a refused claim wrote %d events", len(evs))
	}
	if h, err := s.Head(ctx); err != nil || h != head {
		t.Fatalf("a refused claim moved the head from %d to %d (%v)", head, h, err)
	}
	again, err := s.Append(ctx, "cpts-1", eventstore.NoStream(), first, eventstore.Claim("k"))
	if err != nil || !again.Duplicate {
		t.Fatalf("retried claiming append: %+v %v", again, err)
	}
	if _, err := s.Append(ctx, "cpts-1", eventstore.Exact(0), []eventstore.EventData{Event("Next", 5)}, eventstore.Claim("k")); err != nil {
		t.Fatalf("the owner claims its key again: %v", err)
	}
	// The key the refused append named is still free.
	mustAppendClaiming(t, s, "b-1", "k-lost")
	if n := len(allEvents(t, s)); n != 4 {
		t.Fatalf("log holds %d events, want 4", n)
	}
}

// An append claiming several keys takes them all, or, when one belongs to
// another stream, writes nothing: its other keys stay free on the embedded
// store (on EventStoreDB the earlier ones may stay held by the stream never
// written, as a claim whose append failed; Claim says so).
func testClaimsAllOrNone(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	mustAppendClaiming(t, s, "letter-1", "followed/l")
	head := mustHead(t, ctx, s)
	_, err := s.Append(ctx, "contract-2", eventstore.NoStream(), []eventstore.EventData{Event("Signed", 1)}, eventstore.Claim("contract/2"), eventstore.Claim("followed/l"))
	wantClaimed(t, err, "followed/l", "contract-2", "letter-1")
	if h, err := s.Head(ctx); err != nil || h != head {
		t.Fatalf("a refused second claim moved the head from %d to %d (%v)", head, h, err)
	}
	if _, err := s.Append(ctx, "contract-3", eventstore.NoStream(), []eventstore.EventData{Event("Signed", 2)}, eventstore.Claim("contract/3"), eventstore.Claim("followed/m")); err != nil {
		t.Fatalf("two free keys: %v", err)
	}
	_, err = s.Append(ctx, "contract-4", eventstore.NoStream(), []eventstore.EventData{Event("Signed", 3)}, eventstore.Claim("contract/4"), eventstore.Claim("followed/m"))
	wantClaimed(t, err, "followed/m", "contract-4", "contract-3")
	_, err = s.Append(ctx, "contract-5", eventstore.NoStream(), []eventstore.EventData{Event("Signed", 4)}, eventstore.Claim("contract/3"))
	wantClaimed(t, err, "contract/3", "contract-5", "contract-3")
	if n := len(allEvents(t, s)); n != 2 {
		t.Fatalf("log holds %d events, want 2", n)
	}
}

// An append relying on every stream having claimed a key
// (OnlyIfEveryStreamClaimed) is refused, writing nothing, once a stream was
// created without a claim; a store may refuse it always (it cannot tell),
// but never accept it then. It needs a claim of its own.
func testEveryStreamClaimed(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	rely := func(stream string) error {
		_, err := s.Append(ctx, stream, eventstore.NoStream(), []eventstore.EventData{Event("Signed", 0)},
			eventstore.Claim("key-of-"+stream), eventstore.OnlyIfEveryStreamClaimed())
		return err
	}
	if err := rely("claimed-1"); err != nil && !errors.Is(err, eventstore.ErrUnclaimedStreams) {
		t.Fatalf("relying on claims, every stream claimed: %v", err)
	}
	_, err := s.Append(ctx, "no-claim-given", eventstore.NoStream(), []eventstore.EventData{Event("Signed", 0)}, eventstore.OnlyIfEveryStreamClaimed())
	if !errors.Is(err, eventstore.ErrInvalidEvent) {
		t.Fatalf("relying on claims without claiming: %v", err)
	}
	mustAppend(t, s, "unclaimed-1", eventstore.NoStream(), Event("Signed", 1))
	head := mustHead(t, ctx, s)
	if err := rely("claimed-2"); !errors.Is(err, eventstore.ErrUnclaimedStreams) {
		t.Fatalf("relying on claims after a stream claimed nothing: %v", err)
	}
	if h := mustHead(t, ctx, s); h != head {
		t.Fatalf("a refused append moved the head from %d to %d", head, h)
	}
	// The key the refused append named is still free.
	mustAppendClaiming(t, s, "claimed-3", "key-of-claimed-2")
}

func mustAppendClaiming(t *testing.T, s eventstore.Store, stream, key string) {
	t.Helper()
	if _, err := s.Append(ctxT(t), stream, eventstore.NoStream(), []eventstore.EventData{Event("Claiming", 0)}, eventstore.Claim(key)); err != nil {
		t.Fatalf("append to %s claiming %s: %v", stream, key, err)
	}
}

// Appenders to different new streams claiming one key at once: exactly one
// wins, and only its stream holds events.
func testClaimRace(t *testing.T, s eventstore.Store) {
	const writers, rounds = 8, 5
	for round := 0; round < rounds; round++ {
		key := fmt.Sprintf("race-key-%d", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		type outcome struct {
			stream string
			err    error
		}
		out := make(chan outcome, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				stream := fmt.Sprintf("scheme%d-%d", w, round)
				_, err := s.Append(context.Background(), stream, eventstore.NoStream(), []eventstore.EventData{Event("Signed", w), Event("Started", w)}, eventstore.Claim(key))
				out <- outcome{stream, err}
			}()
		}
		close(start)
		wg.Wait()
		close(out)
		winner := ""
		for o := range out {
			var ce *eventstore.ClaimedError
			switch {
			case o.err == nil && winner == "":
				winner = o.stream
			case o.err == nil:
				t.Fatalf("round %d: %s and %s both claimed %s", round, winner, o.stream, key)
			case errors.As(o.err, &ce):
			default:
				t.Fatalf("round %d: %s: %v", round, o.stream, o.err)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: nobody claimed %s", round, key)
		}
		for w := 0; w < writers; w++ {
			stream := fmt.Sprintf("scheme%d-%d", w, round)
			evs, err := s.ReadStream(ctxT(t), stream, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 2, false: 0}[stream == winner]; len(evs) != want {
				t.Fatalf("round %d: %s holds %d events, want %d", round, stream, len(evs), want)
			}
		}
	}
}

// Appends of several events each, to distinct new streams, at once: each
// lands whole, with its own positions, and the global log holds them all
// in position order (the embedded store groups them into one transaction).
func testConcurrentNewStreams(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	const writers, per = 16, 5
	results := make([]eventstore.AppendResult, writers)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := make([]eventstore.EventData, per)
			for i := range evs {
				evs[i] = Event("E", w*per+i)
			}
			res, err := s.Append(ctx, fmt.Sprintf("new-%d-%s", w, uuid.NewString()[:8]), eventstore.NoStream(), evs)
			results[w] = res
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, 0, writers*per+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*per {
		t.Fatalf("%d events in the log, want %d", len(all), writers*per)
	}
	byStream := map[string]int{}
	for i, e := range all {
		if i > 0 && e.Position <= all[i-1].Position {
			t.Fatalf("positions not increasing at %d", i)
		}
		if e.Revision != uint64(byStream[e.Stream]) {
			t.Fatalf("stream %s: revision %d where %d was expected", e.Stream, e.Revision, byStream[e.Stream])
		}
		byStream[e.Stream]++
	}
	for _, r := range results {
		if r.FirstRevision != 0 || r.LastRevision != per-1 || byStream[r.Stream] != per {
			t.Fatalf("append result %+v; %d events in the stream", r, byStream[r.Stream])
		}
	}
	if h := mustHead(t, ctx, s); h != all[len(all)-1].Position {
		t.Fatalf("head %d, last event at %d", h, all[len(all)-1].Position)
	}
}

// A context cancelled, or whose deadline passes, while a call is in flight
// makes the call return the context's error (errors.Is), never another: a
// caller tells "I gave up" from "the store failed". Calls that finish first
// succeed; what an interrupted append did is then what the store holds.
func testCancelInFlight(t *testing.T, s eventstore.Store) {
	mustAppend(t, s, "seed", eventstore.NoStream(), Event("A", 0))
	// ended is the context's error, or DeadlineExceeded once its deadline
	// has passed (a call may see it pass before the context's own timer).
	ended := func(ctx context.Context) error {
		if dl, ok := ctx.Deadline(); ok && ctx.Err() == nil && !time.Now().Before(dl) {
			return context.DeadlineExceeded
		}
		return ctx.Err()
	}
	check := func(what string, ctx context.Context, err error) {
		t.Helper()
		if err == nil {
			return
		}
		if ended(ctx) == nil {
			t.Fatalf("%s failed with its context live: %v", what, err)
		}
		if !errors.Is(err, ended(ctx)) {
			t.Fatalf("%s interrupted by %v returned %v, which is not the context's error", what, ended(ctx), err)
		}
	}
	for i := 0; i < 40; i++ {
		after := time.Duration(i%8) * 250 * time.Microsecond
		for _, deadline := range []bool{false, true} {
			var ctx context.Context
			var cancel context.CancelFunc
			if deadline {
				ctx, cancel = context.WithTimeout(context.Background(), after)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(after, cancel)
			}
			_, err := s.Append(ctx, fmt.Sprintf("inflight-%d-%v", i, deadline), eventstore.NoStream(), []eventstore.EventData{Event("B", i), Event("B", i+1)})
			check("append", ctx, err)
			_, err = s.ReadStream(ctx, "seed", 0, 10)
			check("read stream", ctx, err)
			_, err = s.ReadAll(ctx, 0, 100)
			check("read all", ctx, err)
			_, err = s.Head(ctx)
			check("head", ctx, err)
			err = s.Subscribe(ctx, 0, func([]eventstore.Envelope) error { return nil })
			if err == nil {
				t.Fatal("subscribe returned nil")
			}
			<-ctx.Done()
			if !errors.Is(err, ctx.Err()) {
				t.Fatalf("subscribe ended by %v returned %v", ctx.Err(), err)
			}
			cancel()
		}
	}
	// What the interrupted appends did is whole: each stream holds both of
	// its events or none.
	all, err := s.ReadAll(ctxT(t), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range all {
		count[e.Stream]++
	}
	for stream, n := range count {
		if strings.HasPrefix(stream, "inflight-") && n != 2 {
			t.Fatalf("stream %s holds %d of its 2 events", stream, n)
		}
	}
}

// testCommandDigest: an event's command digest is read back as appended,
// from its stream and from the global log; an event without one reads
// without one; the digest is not part of the hash (the chain verifies
// with the hash recomputed from the other fields).
func testCommandDigest(t *testing.T, s eventstore.Store) {
	ctx := ctxT(t)
	with := Event("A", 1)
	with.CommandDigest = bytes.Repeat([]byte{0xab}, 32)
	without := Event("B", 2)
	mustAppend(t, s, "digest", eventstore.NoStream(), with, without)
	evs, err := s.ReadStream(ctx, "digest", 0, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("read: %d %v", len(evs), err)
	}
	all, err := s.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.Stream == "digest" {
			evs = append(evs, e)
		}
	}
	if len(evs) != 4 {
		t.Fatalf("%d events of the stream read", len(evs))
	}
	for i, e := range evs {
		want := with.CommandDigest
		if e.EventID == without.ID {
			want = nil
		}
		if !bytes.Equal(e.CommandDigest, want) {
			t.Fatalf("event %d (%s): digest %x, want %x", i, e.Type, e.CommandDigest, want)
		}
		if got := eventstore.ComputeHash(e.PrevHash, &e); got != e.Hash {
			t.Fatalf("event %d: the hash depends on the digest", i)
		}
	}
	// A re-append of the same events is a duplicate, digest or not.
	if res, err := s.Append(ctx, "digest", eventstore.NoStream(), []eventstore.EventData{with, without}); err != nil || !res.Duplicate {
		t.Fatalf("re-append: %+v %v", res, err)
	}
}

// testLeaves: a store that reads leaves itself (the optional
// eventstore.LeafReader) gives, page by page, exactly the position, id and
// hash ReadAll gives of every event; a store without it is read through
// ReadAll (eventstore.ReadLeaves), and the case says it checked nothing of
// its own.
func testLeaves(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	lr, ok := s.(eventstore.LeafReader)
	if !ok {
		t.Skip("the store does not implement eventstore.LeafReader (optional): leaves are read through ReadAll")
	}
	for i := range 3 {
		batch := make([]eventstore.EventData, 7)
		for j := range batch {
			batch[j] = Event("Leaf", i*10+j)
		}
		if _, err := s.Append(ctx, fmt.Sprintf("leaves-%d", i), eventstore.NoStream(), batch); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var leaves []eventstore.Leaf
	for after := eventstore.Position(0); ; {
		page, err := lr.ReadLeaves(ctx, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 4 {
			t.Fatalf("a page of %d leaves, limit 4", len(page))
		}
		leaves = append(leaves, page...)
		after = page[len(page)-1].Position
	}
	if len(leaves) != len(all) {
		t.Fatalf("%d leaves, %d events", len(leaves), len(all))
	}
	for i, e := range all {
		if want := (eventstore.Leaf{Position: e.Position, EventID: e.EventID, Hash: e.Hash}); leaves[i] != want {
			t.Fatalf("leaf %d: %+v, ReadAll says %+v", i, leaves[i], want)
		}
	}
	if none, err := lr.ReadLeaves(ctx, all[len(all)-1].Position, 10); err != nil || len(none) != 0 {
		t.Fatalf("after the last event: %v %v", none, err)
	}
}
