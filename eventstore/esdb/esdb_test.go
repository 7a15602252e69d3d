package esdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/cptsledger/ledger/app/apptest"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/storetest"
	"github.com/cptsledger/ledger/notary"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
)

// TestConformanceAgainstEventStoreDB runs the shared suite against a real
// server: LEDGER_ESDB_URL=esdb://localhost:2113?tls=false go test ./eventstore/esdb/...
func TestConformanceAgainstEventStoreDB(t *testing.T) {
	url := os.Getenv("LEDGER_ESDB_URL")
	if url == "" {
		t.Skip("LEDGER_ESDB_URL is not set: no EventStoreDB server to test against (set it to a connection string, e.g. esdb://localhost:2113?tls=false, to run the conformance suite on a real server)")
	}
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		s, err := Open(url, Options{Namespace: "test-" + strings.ReplaceAll(uuid.NewString(), "-", "")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConformanceOfTheAdapter runs the shared suite against the adapter over
// an in-memory EventStoreDB: everything around the client calls — revision
// mapping, hash chain in metadata, idempotency, $all filtering and position
// mapping, subscriptions — with system events interleaved.
func TestConformanceOfTheAdapter(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		f := newFakeConn()
		f.system()
		return newStore(f, Options{})
	})
}

// TestCommandPathAgainstEventStoreDB runs the command path's conformance
// suite on a real server, when LEDGER_ESDB_URL names one.
func TestCommandPathAgainstEventStoreDB(t *testing.T) {
	url := os.Getenv("LEDGER_ESDB_URL")
	if url == "" {
		t.Skip("LEDGER_ESDB_URL is not set: no EventStoreDB server to race the command path on")
	}
	apptest.Run(t, func(t *testing.T) apptest.Opener {
		ns := "test-" + strings.ReplaceAll(uuid.NewString(), "-", "")
		return func() eventstore.Store {
			s, err := Open(url, Options{Namespace: ns})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

// TestCommandPathOfTheAdapter runs the command path's conformance suite
// (racing ledgers, one contract id one scheme) over the adapter and the
// in-memory EventStoreDB: each ledger has its own Store on one node.
func TestCommandPathOfTheAdapter(t *testing.T) {
	apptest.Run(t, func(t *testing.T) apptest.Opener {
		f := newFakeConn()
		f.system()
		return func() eventstore.Store { return newStore(f, Options{}) }
	})
}

func TestMapExpected(t *testing.T) {
	for _, tc := range []struct {
		in   eventstore.ExpectedRevision
		want esdb.ExpectedRevision
	}{
		{eventstore.Any(), esdb.Any{}},
		{eventstore.NoStream(), esdb.NoStream{}},
		{eventstore.StreamExists(), esdb.StreamExists{}},
		{eventstore.Exact(7), esdb.Revision(7)},
	} {
		if got := MapExpected(tc.in); got != tc.want {
			t.Errorf("%s → %#v, want %#v", tc.in, got, tc.want)
		}
	}
	if toExpected(eventstore.NoRevision) != (esdb.NoStream{}) || toExpected(4) != esdb.Revision(4) {
		t.Error("the store's own exact expectation is wrong")
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	e := storetest.Event("PaymentDecided", 3)
	env := eventstore.Seal(eventstore.Hash{1, 2, 3}, "cpts-x", 4, 0, time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), e)
	raw, err := EncodeMetadata(&env)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	for k, v := range m {
		if _, isString := v.(string); !isString {
			t.Fatalf("metadata %s is not a string: EventStoreDB wants string values", k)
		}
	}
	back := eventstore.Envelope{EventID: env.EventID, Stream: env.Stream, Revision: env.Revision, Type: env.Type, Data: env.Data}
	ok, err := DecodeMetadata(raw, &back)
	if !ok || err != nil {
		t.Fatalf("decode: %v %v", ok, err)
	}
	if back.PrevHash != env.PrevHash || back.Hash != env.Hash || !back.RecordedAt.Equal(env.RecordedAt) || back.Actor != env.Actor ||
		back.CommandID != env.CommandID || back.CorrelationID != env.CorrelationID || back.CausationID != env.CausationID ||
		back.OccurredOn != env.OccurredOn || back.SchemaVersion != env.SchemaVersion {
		t.Fatalf("round trip lost fields:\n%+v\n%+v", env, back)
	}
	if eventstore.ComputeHash(back.PrevHash, &back) != env.Hash {
		t.Fatal("the hash does not verify after a round trip through the metadata")
	}
	if ok, err := DecodeMetadata([]byte(`{"$correlationId":"x"}`), &back); ok || err != nil {
		t.Fatal("foreign metadata taken for the ledger's")
	}
	if ok, _ := DecodeMetadata(nil, &back); ok {
		t.Fatal("no metadata taken for the ledger's")
	}
}

func TestPositionMapping(t *testing.T) {
	if allFrom(0) != (esdb.Start{}) || allFrom(42) != (esdb.Position{Commit: 42, Prepare: 42}) {
		t.Fatal("positions map wrongly onto $all")
	}
	s := newStore(newFakeConn(), Options{Namespace: "ns"})
	e := storetest.Event("T", 1)
	env := eventstore.Seal(eventstore.Hash{}, "cpts-a", 0, 0, time.Now(), e)
	meta, _ := EncodeMetadata(&env)
	rec := &esdb.RecordedEvent{EventID: env.EventID, EventType: "T", StreamID: "ns.cpts-a", Data: env.Data, UserMetadata: meta,
		Position: esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}}
	got, ok, err := s.envelope(rec)
	if !ok || err != nil || got.Position != 0 || got.Stream != "cpts-a" {
		t.Fatalf("from a stream read: %+v %v %v", got, ok, err)
	}
	rec.Position = esdb.Position{Commit: 9000, Prepare: 9000}
	if got, _, _ := s.envelope(rec); got.Position != 9000 {
		t.Fatalf("from $all: position %d", got.Position)
	}
	for _, other := range []*esdb.RecordedEvent{
		{StreamID: "$et-T", EventType: "T"}, {StreamID: "ns.x", EventType: "$metadata"}, {StreamID: "other.cpts-a", EventType: "T", UserMetadata: meta},
	} {
		if _, ok, _ := s.envelope(other); ok {
			t.Fatalf("%s/%s taken for a ledger event", other.StreamID, other.EventType)
		}
	}
}

// An append whose answer is lost after it landed is recognised by its ids
// and not written twice; one that did not land is written on the retry.
func TestUncertainAppendRecovery(t *testing.T) {
	for _, landed := range []bool{true, false} {
		t.Run(fmt.Sprintf("landed_%v", landed), func(t *testing.T) {
			f := newFakeConn()
			s := newStore(f, Options{})
			faults := 1
			f.appendFault = func() (error, bool) {
				if faults == 0 {
					return nil, true
				}
				faults--
				return fmt.Errorf("%w: deadline exceeded", errUncertain), landed
			}
			batch := []eventstore.EventData{storetest.Event("A", 1), storetest.Event("B", 2)}
			res, err := s.Append(context.Background(), "cpts-u", eventstore.NoStream(), batch)
			if err != nil {
				t.Fatal(err)
			}
			if res.Duplicate || res.FirstRevision != 0 || res.LastRevision != 1 {
				t.Fatalf("result %+v", res)
			}
			if n := len(f.streams["cpts-u"]); n != 2 {
				t.Fatalf("stream holds %d events, want 2", n)
			}
			wantAppends := 2
			if landed {
				wantAppends = 1 // the retry found the events and did not append again
			}
			if f.appends != wantAppends {
				t.Fatalf("%d appends sent, want %d", f.appends, wantAppends)
			}
		})
	}
}

func TestWrongRevisionCarriesTheActualRevision(t *testing.T) {
	f := newFakeConn()
	s := newStore(f, Options{})
	ctx := context.Background()
	s.Append(ctx, "cpts-w", eventstore.NoStream(), []eventstore.EventData{storetest.Event("A", 1)})
	// Another writer appends between the store's read and its append.
	f.appendFault = func() (error, bool) {
		f.appendFault = nil
		f.record("cpts-w", "X", []byte(`{}`), nil, uuid.New())
		return nil, true
	}
	_, err := s.Append(ctx, "cpts-w", eventstore.Exact(0), []eventstore.EventData{storetest.Event("B", 2)})
	var wre *eventstore.WrongRevisionError
	if !errors.As(err, &wre) || wre.Actual != 1 {
		t.Fatalf("got %v, want a wrong revision with actual 1", err)
	}
}

// The subscription loop resubscribes after drops, from the last position
// seen, without gap or duplicate, and caps its backoff.
func TestResubscribeAfterDrops(t *testing.T) {
	f := newFakeConn()
	f.dropAfter = 7
	s := newStore(f, Options{MaxBackoff: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const total = 100
	var mu sync.Mutex
	var got []eventstore.Envelope
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(ctx, 0, func(evs []eventstore.Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, evs...)
			if len(got) == total {
				cancel()
			}
			return nil
		})
	}()
	for i := 0; i < total; i++ {
		if i%10 == 0 {
			f.system()
		}
		if _, err := s.Append(context.Background(), fmt.Sprintf("cpts-%d", i%3), eventstore.Any(), []eventstore.EventData{storetest.Event("E", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscribe ended with %v after %d events", err, len(got))
	}
	seen := map[uuid.UUID]bool{}
	for i := range got {
		if seen[got[i].EventID] {
			t.Fatalf("event %d delivered twice", i)
		}
		seen[got[i].EventID] = true
		if i > 0 && got[i].Position <= got[i-1].Position {
			t.Fatalf("event %d out of order", i)
		}
	}
	if f.subs < total/7 {
		t.Fatalf("%d subscriptions for drops every 7 events", f.subs)
	}
}

// The notary's follower, checkpoints, proofs and verification work the same
// over EventStoreDB, whose positions leave gaps and whose $all holds
// system events and claims.
func TestNotaryOverTheAdapter(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	s := newStore(f, Options{})
	for i := 0; i < 60; i++ {
		f.system()
		var opts []eventstore.AppendOption
		if i%10 == 0 {
			opts = append(opts, eventstore.Claim(fmt.Sprint("k", i)))
		}
		if _, err := s.Append(ctx, fmt.Sprintf("cpts-%d", i%10), eventstore.Any(), []eventstore.EventData{storetest.Event("E", i)}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	tree, err := notary.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	skey, vkey, _ := notary.GenerateKey("esdb-test")
	key, _ := note.NewSigner(skey)
	signer := notary.WithMemory(key, filepath.Join(t.TempDir(), "signer.last"))
	verifier, _ := note.NewVerifier(vkey)
	st, err := tree.Checkpoint(ctx, s, signer, "")
	if err != nil || st.Size != 60 {
		t.Fatalf("checkpoint: %+v %v", st, err)
	}
	c, err := notary.OpenCheckpoint([]byte(st.Note), verifier)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := notary.VerifyLog(ctx, s, []notary.Named{{Name: "cp", Checkpoint: c}}, tree); err != nil || rep.Events != 60 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	all, _ := s.ReadAll(ctx, 0, 100)
	for _, e := range all {
		p, err := tree.ProveEvent(ctx, s, e.EventID, []byte(st.Note))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := notary.MarshalProof(p)
		if _, err := notary.VerifyProof(raw, verifier); err != nil {
			t.Fatalf("event at position %d: %v", e.Position, err)
		}
	}
}
