package projections

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cptsledger/ledger/internal/heap"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/google/uuid"
)

// benchEvents is the size of the generated ledger: LEDGER_BENCH_EVENTS, or
// 100 000 (the recorded run uses 1 000 000).
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var (
	keptLedger bool
	ledgerOnce sync.Once
	ledgerPath string
	ledgerIDs  []uuid.UUID
	ledgerErr  error
)

// nationalLedger builds, once per run, an event store holding a generated
// national-scale ledger of about benchEvents() events, interleaved as a
// live ledger's are: contracts in chunks of up to 50 000, each chunk's
// commands (payments decided monthly) taken in business-date order, decided
// in memory and appended one command at a time by 16 appenders, each
// owning a share of the streams — so a contract's events are spread over
// its chunk's part of the log, not adjacent.
func nationalLedger(b *testing.B) (string, []uuid.UUID) {
	ledgerOnce.Do(func() {
		if keep := os.Getenv("LEDGER_BENCH_KEEP"); keep != "" {
			// A ledger kept between runs, to profile without generating it
			// again: built when missing, never removed.
			keptLedger = true
			ledgerPath = filepath.Join(keep, fmt.Sprintf("events-interleaved-%d.db", benchEvents()))
			if ids, err := keptIDs(ledgerPath); err == nil {
				ledgerIDs = ids
				return
			}
			os.MkdirAll(keep, 0o755)
		} else {
			dir, err := os.MkdirTemp("", "ledger-bench-")
			if err != nil {
				ledgerErr = err
				return
			}
			ledgerPath = filepath.Join(dir, "events.db")
		}
		store, err := embedded.Open(context.Background(), ledgerPath, embedded.Options{})
		if err != nil {
			ledgerErr = err
			return
		}
		defer store.Close()
		ledgerIDs, ledgerErr = generateLedger(store, benchEvents())
	})
	if ledgerErr != nil {
		b.Fatal(ledgerErr)
	}
	return ledgerPath, ledgerIDs
}

type appendJob struct {
	stream string
	events []eventstore.EventData
}

// generateLedger appends about want events to store (see nationalLedger)
// and returns the contracts.
func generateLedger(store eventstore.Store, want int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	total := 0
	for chunk := uint64(1); total < want; chunk++ {
		lines, _ := gen.National(gen.Options{Seed: chunk, Contracts: min(50_000, (want-total)/21+1),
			Today: domain.MustDate("2026-11-22"), DecideMonthly: true})
		const appenders = 16
		jobs := make([]chan appendJob, appenders)
		errs := make(chan error, appenders)
		for i := range jobs {
			jobs[i] = make(chan appendJob, 64)
			go func() {
				var failed error
				for j := range jobs[i] {
					if failed == nil {
						_, failed = store.Append(context.Background(), j.stream, eventstore.Any(), j.events)
					}
				}
				errs <- failed
			}()
		}
		states := map[uuid.UUID]*cpts.Contract{}
		err := func() error {
			for _, l := range lines {
				if total >= want {
					return nil
				}
				cmd, err := cpts.DecodeCommand(l)
				if err != nil {
					return err
				}
				id := cmd.Meta().ContractID
				c := states[id]
				if c == nil {
					c = cpts.NewContract(id)
					states[id] = c
					ids = append(ids, id)
				}
				events, err := cpts.Decide(c, cmd)
				if err != nil {
					return fmt.Errorf("%s: %w", l, err)
				}
				if len(events) == 0 {
					continue
				}
				for _, e := range events {
					c.Apply(e)
				}
				data, err := app.Envelopes(cpts.Stream(id), cmd.Meta().CommandID, "bench", events)
				if err != nil {
					return err
				}
				jobs[int(id[0])%appenders] <- appendJob{cpts.Stream(id), data}
				total += len(data)
			}
			return nil
		}()
		for _, ch := range jobs {
			close(ch)
		}
		for range appenders {
			err = errors.Join(err, <-errs)
		}
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// keptIDs returns the contracts of a kept ledger.
func keptIDs(path string) ([]uuid.UUID, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	store, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	var ids []uuid.UUID
	err = eventstore.EachPage(context.Background(), store, func(page []eventstore.Envelope) error {
		for _, e := range page {
			if e.Revision == 0 {
				_, id, _ := domain.ParseStream(e.Stream)
				ids = append(ids, id)
			}
		}
		return nil
	})
	return ids, err
}

// BenchmarkRebuild builds a new read-model generation from the whole
// generated ledger and switches to it; it reports events/s, the largest live
// heap seen, and, for the floor any rebuild has, the rate at which the same
// run reads the log alone.
func BenchmarkRebuild(b *testing.B) {
	path, _ := nationalLedger(b)
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
	for p := range pages(context.Background(), store, 0, head, 4096) {
		if p.err != nil {
			b.Fatal(p.err)
		}
		read += len(p.events)
	}
	b.ReportMetric(float64(read)/time.Since(start).Seconds(), "log-read-events/s")
}

func readModelsFor(b *testing.B) (*DB, []uuid.UUID) {
	path, ids := nationalLedger(b)
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
