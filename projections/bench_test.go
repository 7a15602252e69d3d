package projections

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/benchledger"
	"github.com/cptsledger/ledger/internal/heap"
	"github.com/cptsledger/ledger/notary"
)

// BenchmarkRebuild builds a new read-model generation from the whole
// generated ledger and switches to it; it reports events/s, the largest live
// heap seen, and, for the floor any rebuild has, the rate at which the same
// run reads the log alone.
func BenchmarkRebuild(b *testing.B) {
	path, _ := benchledger.National(b)
	store, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	head, _ := store.Head(context.Background())
	set := NewSet(b.TempDir(), nil)
	defer set.Close()
	var peak atomic.Uint64
	stop := heap.Sample(&peak)
	defer stop()
	b.ResetTimer()
	for b.Loop() {
		p, err := set.Rebuild(context.Background(), store, BuildOptions{})
		if err != nil || p.Position != head {
			b.Fatalf("rebuild to %d of %d: %v", p.Position, head, err)
		}
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	b.ReportMetric(float64(uint64(b.N)*uint64(head))/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(head), "events")
	start := time.Now()
	var read int
	for p := range pages(context.Background(), store, eventstore.NewChains(), nil, 0, head, 4096) {
		if p.err != nil {
			b.Fatal(p.err)
		}
		read += len(p.events)
	}
	b.ReportMetric(float64(read)/time.Since(start).Seconds(), "log-read-events/s")
}

func readModelsFor(b *testing.B) (*DB, []uuid.UUID) {
	path, ids := benchledger.National(b)
	store, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	set := NewSet(b.TempDir(), nil)
	db, release, err := set.Acquire(context.Background(), store, BuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { release(); set.Close() })
	return db, ids
}

// BenchmarkPaymentsAsOf reads one contract's payments as of a date.
func BenchmarkPaymentsAsOf(b *testing.B) {
	db, ids := readModelsFor(b)
	w := Window{AsOf: domain.MustDate("2023-06-30")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := db.Payments(context.Background(), ids[i%len(ids)], w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck runs what `ledger verify` does to the read models: fold
// the whole log again into a scratch file and compare every row with the
// current file. It reports events/s over the log and the rows compared.
func BenchmarkCheck(b *testing.B) {
	store, set, head := checkedLedger(b)
	var rows int64
	b.ResetTimer()
	for b.Loop() {
		rep, err := set.Check(context.Background(), store, 20)
		if err != nil || len(rep.Mismatches) != 0 || rep.Position != head {
			b.Fatalf("check: %v %+v", err, rep)
		}
		rows = rep.Rows
	}
	b.ReportMetric(float64(uint64(b.N)*uint64(head))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(head), "events")
}

// BenchmarkCheckIncremental is the check that remembers (verify
// --models-memory) once a first check kept its fold: the kept copy's file
// hashed, brought forward (by no event here: the kept benchmark ledger does
// not grow), and both files' tables digested at once. The log's roots are
// the notary's, computed once before the timer (verify's log check, timed
// apart by the notary's benchmarks).
func BenchmarkCheckIncremental(b *testing.B) {
	store, set, head := checkedLedger(b)
	memory := filepath.Join(b.TempDir(), "models.memory")
	logRep, err := notary.VerifyLogRoots(context.Background(), store, nil, nil, []int64{int64(head)})
	if err != nil {
		b.Fatal(err)
	}
	opts := CheckOptions{Limit: 20, Memory: memory, LogRoot: func(n int64) (tlog.Hash, bool) {
		h, ok := logRep.Roots[n]
		return h, ok
	}}
	if rep, err := set.CheckWith(context.Background(), store, opts); err != nil || rep.Incremental || len(rep.Mismatches) != 0 {
		b.Fatalf("first check: %v %+v", err, rep)
	}
	var rows int64
	b.ResetTimer()
	for b.Loop() {
		rep, err := set.CheckWith(context.Background(), store, opts)
		if err != nil || !rep.Incremental || len(rep.Mismatches) != 0 || rep.Position != head {
			b.Fatalf("check: %v %+v", err, rep)
		}
		rows = rep.Rows
	}
	b.ReportMetric(float64(uint64(b.N)*uint64(head))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(rows), "rows")
}

// checkedLedger opens the generated ledger and builds its read models: what
// the checks compare.
func checkedLedger(b *testing.B) (*embedded.Store, *Set, eventstore.Position) {
	path, _ := benchledger.National(b)
	store, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	head, _ := store.Head(context.Background())
	set := NewSet(b.TempDir(), nil)
	b.Cleanup(func() { set.Close() })
	if _, err := set.Rebuild(context.Background(), store, BuildOptions{}); err != nil {
		b.Fatal(err)
	}
	return store, set, head
}
