package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

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
	ledgerOnce sync.Once
	ledgerPath string
	ledgerIDs  []uuid.UUID
	ledgerErr  error
)

// nationalLedger builds, once per run, an event store holding a generated
// national-scale ledger of about benchEvents() events: each contract's
// commands are decided in memory and its events appended in one batch.
func nationalLedger(b *testing.B) (string, []uuid.UUID) {
	ledgerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ledger-bench-")
		if err != nil {
			ledgerErr = err
			return
		}
		ledgerPath = filepath.Join(dir, "events.db")
		store, err := embedded.Open(context.Background(), ledgerPath, embedded.Options{})
		if err != nil {
			ledgerErr = err
			return
		}
		defer store.Close()
		want := benchEvents()
		lines, _ := gen.National(gen.Options{Seed: 1, Contracts: want/21 + 1, Today: domain.MustDate("2026-11-22")})
		byContract := map[uuid.UUID][][]byte{}
		var order []uuid.UUID
		for _, l := range lines {
			var h struct {
				ContractID uuid.UUID `json:"contract_id"`
			}
			json.Unmarshal(l, &h)
			if _, ok := byContract[h.ContractID]; !ok {
				order = append(order, h.ContractID)
			}
			byContract[h.ContractID] = append(byContract[h.ContractID], l)
		}
		total := 0
		for _, id := range order {
			c := cpts.NewContract(id)
			var batch []eventstore.EventData
			for _, l := range byContract[id] {
				cmd, err := cpts.DecodeCommand(l)
				if err != nil {
					ledgerErr = err
					return
				}
				events, err := cpts.Decide(c, cmd)
				if err != nil {
					ledgerErr = fmt.Errorf("%s: %w", l, err)
					return
				}
				for _, e := range events {
					c.Apply(e)
				}
				data, err := app.Envelopes(cpts.Stream(id), cmd.Meta().CommandID, "bench", events)
				if err != nil {
					ledgerErr = err
					return
				}
				batch = append(batch, data...)
			}
			if _, err := store.Append(context.Background(), cpts.Stream(id), eventstore.NoStream(), batch); err != nil {
				ledgerErr = err
				return
			}
			ledgerIDs = append(ledgerIDs, id)
			if total += len(batch); total >= want {
				break
			}
		}
	})
	if ledgerErr != nil {
		b.Fatal(ledgerErr)
	}
	return ledgerPath, ledgerIDs
}

// BenchmarkRebuild projects the whole generated ledger from zero and
// reports events/s and the largest live heap seen.
func BenchmarkRebuild(b *testing.B) {
	path, _ := nationalLedger(b)
	store, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "projections.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	head, _ := store.Head(context.Background())
	var peak atomic.Uint64
	stop := heap.Sample(&peak)
	defer stop()
	b.ResetTimer()
	for b.Loop() {
		p, err := NewRunner(store, db, Options{}).Rebuild(context.Background())
		if err != nil || p.Position != head {
			b.Fatalf("rebuild to %d of %d: %v", p.Position, head, err)
		}
	}
	b.ReportMetric(float64(uint64(b.N)*uint64(head))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(head), "events")
}

func readModelsFor(b *testing.B) (*embedded.Store, *DB, []uuid.UUID) {
	path, ids := nationalLedger(b)
	store, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "projections.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := NewRunner(store, db, Options{}).CatchUp(context.Background()); err != nil {
		b.Fatal(err)
	}
	return store, db, ids
}

// BenchmarkAuditTrail reads one contract's audit trail and checks its chain.
func BenchmarkAuditTrail(b *testing.B) {
	store, _, ids := readModelsFor(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		trail, err := Audit(context.Background(), store, ids[i%len(ids)], domain.Date{})
		if err != nil || !trail.ChainOK {
			b.Fatal(err, trail.Problem)
		}
	}
}

// BenchmarkBalanceAsOf computes one contract's balance as of a date.
func BenchmarkBalanceAsOf(b *testing.B) {
	_, db, ids := readModelsFor(b)
	asOf := AsOf{BusinessDate: domain.MustDate("2023-06-30")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := db.Balance(context.Background(), ids[i%len(ids)], asOf); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ledgerPath != "" {
		os.RemoveAll(filepath.Dir(ledgerPath))
	}
	os.Exit(code)
}
