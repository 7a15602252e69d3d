package notary_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
)

// benchEvents is the size of the log: LEDGER_BENCH_EVENTS, or 100 000 (the
// recorded run uses 1 000 000).
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// benchLog builds, once per run, an event store of benchEvents() events
// with the size of real payment decisions (~600 bytes of data), over
// 10 000 streams, in batches of 100.
func benchLog(b *testing.B) string {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "notary-bench-")
		if benchErr != nil {
			return
		}
		s, err := openStoreErr(benchDir)
		if err != nil {
			benchErr = err
			return
		}
		defer s.Close()
		data := json.RawMessage(`{"payment_id":"0237b7c9-4e78-5521-b43d-ded5de4e3986","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","kind":"annual_balance","contract_year":2,"due_on":"2021-12-10","decided_on":"2022-04-01","status":"decided","amount":"88375.00","rulebook":"aci-cpts-2019","rule":"ACI art. 9 / domain.md 2.4-2.5: the year's dues (operating, fixed, variable by achievement) less its advances, on the report","lines":[{"component":"operating","amount":"60000.00","basis":"60000 operating × 365/365 days"},{"mission":"access","component":"fixed","amount":"29500.00","basis":"29500 fixed × 365/365 days"}]}`)
		n := benchEvents()
		for i := 0; i < n; i += 100 {
			batch := make([]eventstore.EventData, min(100, n-i))
			for j := range batch {
				batch[j] = eventstore.EventData{ID: uuid.New(), Type: "PaymentDecided", OccurredOn: "2022-04-01", Actor: "bench",
					CommandID: "c", CorrelationID: "c", CausationID: "c", Data: data}
			}
			if _, err := s.Append(context.Background(), fmt.Sprintf("cpts-%d", (i/100)%10000), eventstore.Any(), batch); err != nil {
				benchErr = err
				return
			}
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

// The follower from an empty tree over the whole log (through the store's
// leaf reader: position, id and hash of each event).
func BenchmarkFollowerFromZero(b *testing.B) {
	dir := benchLog(b)
	s, err := openStoreErr(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	var leaves int64
	for range b.N {
		b.StopTimer()
		treeDir := b.TempDir()
		tree, err := notary.Open(context.Background(), treeDir)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		prog, err := tree.CatchUp(context.Background(), s, notary.Hooks{})
		if err != nil {
			b.Fatal(err)
		}
		leaves += prog.Added
		b.StopTimer()
		tree.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(leaves)/b.Elapsed().Seconds(), "leaves/s")
}

// caughtUp returns a store and a tree over the whole bench log.
func caughtUp(b *testing.B) (*notary.Tree, eventstore.Store) {
	dir := benchLog(b)
	s, err := openStoreErr(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	tree, err := notary.Open(context.Background(), filepath.Join(dir))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tree.Close() })
	if _, err := tree.CatchUp(context.Background(), s, notary.Hooks{}); err != nil {
		b.Fatal(err)
	}
	return tree, s
}

func benchSigner(b *testing.B) (*notary.Signer, note.Verifier) {
	skey, vkey, err := notary.GenerateKey("bench")
	if err != nil {
		b.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return notary.WithMemory(s, filepath.Join(b.TempDir(), "signer.last")), v
}

// A checkpoint of a caught-up log: the follower finds nothing to add, the
// root comes from the stored hashes, then it is signed and kept.
func BenchmarkCheckpoint(b *testing.B) {
	tree, s := caughtUp(b)
	signer, _ := benchSigner(b)
	b.ResetTimer()
	for range b.N {
		if _, err := tree.Checkpoint(context.Background(), s, signer, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// verify --checkpoint over the whole log: every event read, its hash and
// chain recomputed, the tree's root recomputed and compared.
func BenchmarkVerifyCheckpoint(b *testing.B) {
	tree, s := caughtUp(b)
	signer, verifier := benchSigner(b)
	st, err := tree.Checkpoint(context.Background(), s, signer, "")
	if err != nil {
		b.Fatal(err)
	}
	c, err := notary.OpenCheckpoint([]byte(st.Note), verifier)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		rep, err := notary.VerifyLog(context.Background(), s, []notary.Named{{Name: "cp", Checkpoint: c}}, nil)
		if err != nil || rep.Checkpoints != 1 {
			b.Fatal(rep, err)
		}
	}
	b.ReportMetric(float64(tree.Size())*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// verify without a checkpoint: every event read, its hash and chain
// recomputed (no tree: there is no root to compare).
func BenchmarkVerifyChains(b *testing.B) {
	tree, s := caughtUp(b)
	b.ResetTimer()
	for range b.N {
		if _, err := notary.VerifyLog(context.Background(), s, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tree.Size())*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// One inclusion proof from the stored hashes (tlog.ProveRecord).
func BenchmarkInclusionProof(b *testing.B) {
	tree, _ := caughtUp(b)
	n := tree.Size()
	b.ResetTimer()
	for range b.N {
		if _, err := tlog.ProveRecord(n, rand.Int64N(n), tree); err != nil {
			b.Fatal(err)
		}
	}
}

// `ledger prove --event` without the process: find the event's leaf by its
// id (a scan of notary.leaves), read the event, prove it.
func BenchmarkProveEvent(b *testing.B) {
	tree, s := caughtUp(b)
	signer, _ := benchSigner(b)
	st, err := tree.Checkpoint(context.Background(), s, signer, "")
	if err != nil {
		b.Fatal(err)
	}
	var ids []uuid.UUID
	for i := int64(0); i < 64; i++ {
		l, _ := tree.Leaf(rand.Int64N(tree.Size()))
		ids = append(ids, l.EventID)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := tree.ProveEvent(context.Background(), s, ids[i%len(ids)], []byte(st.Note)); err != nil {
			b.Fatal(err)
		}
	}
}
