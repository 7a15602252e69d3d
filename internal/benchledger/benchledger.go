// Package benchledger builds, once per benchmark run, an event store
// holding a generated national-scale ledger, for the benchmarks of the
// projections and of the queries. LEDGER_BENCH_EVENTS sets its size
// (100 000 events by default; the recorded runs use 1 000 000 and
// 10 000 000); LEDGER_BENCH_KEEP names a directory where it is kept between
// runs (built when missing, never removed).
package benchledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/google/uuid"
)

// Events is the size asked for.
func Events() int {
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

// National builds, once per run, an event store holding a generated
// national-scale ledger of about Events() events, interleaved as a
// live ledger's are: contracts in chunks of up to 50 000, each chunk's
// commands (payments decided monthly) taken in business-date order, decided
// in memory and appended one command at a time by 16 appenders, each
// owning a share of the streams — so a contract's events are spread over
// its chunk's part of the log, not adjacent.
func National(b testing.TB) (string, []uuid.UUID) {
	ledgerOnce.Do(func() {
		if keep := os.Getenv("LEDGER_BENCH_KEEP"); keep != "" {
			// A ledger kept between runs, to profile without generating it
			// again: built when missing, never removed.
			keptLedger = true
			ledgerPath = filepath.Join(keep, fmt.Sprintf("events-interleaved-%d.db", Events()))
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
		ledgerIDs, ledgerErr = generateLedger(store, Events())
	})
	if ledgerErr != nil {
		b.Fatal(ledgerErr)
	}
	return ledgerPath, ledgerIDs
}

type appendJob struct {
	stream string
	events []eventstore.EventData
	key    byte // the appender: key modulo their number (a contract's first byte)
}

// generateLedger appends about want events to store (see National)
// and returns the contracts.
func generateLedger(store eventstore.Store, want int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	total := 0
	for chunk := uint64(1); total < want; chunk++ {
		lines, _ := gen.National(gen.Options{Seed: chunk, Contracts: min(50_000, (want-total)/21+1),
			Today: domain.MustDate("2026-11-22"), DecideMonthly: true})
		send, wait := startAppenders(store, 16)
		err := decideLines(lines, want, &total, &ids, send)
		if err = errors.Join(err, wait()); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// startAppenders starts n appenders: send hands one a stream's events
// (each stream always to the same one, in order); wait ends them and
// returns their first failures.
func startAppenders(store eventstore.Store, n int) (send func(appendJob), wait func() error) {
	jobs := make([]chan appendJob, n)
	errs := make(chan error, n)
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
	send = func(j appendJob) { jobs[int(j.key)%n] <- j }
	wait = func() error {
		for _, ch := range jobs {
			close(ch)
		}
		var err error
		for range n {
			err = errors.Join(err, <-errs)
		}
		return err
	}
	return send, wait
}

// decideLines decides the CPTS commands of lines, each contract's state
// kept in memory, and sends their events, until *total reaches want.
func decideLines(lines [][]byte, want int, total *int, ids *[]uuid.UUID, send func(appendJob)) error {
	states := map[uuid.UUID]*cpts.Contract{}
	for _, l := range lines {
		if *total >= want {
			return nil
		}
		// The reference facts (an amendment, crisis recognitions) go
		// through their own streams, not decided here: the bench
		// ledger is the contracts' streams.
		if h, err := domain.PeekHeader(l); err == nil && slices.Contains(cpts.ReferenceCommands(), h.Type) {
			continue
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
			*ids = append(*ids, id)
		}
		events, err := cpts.Decide(c, cmd)
		if err != nil {
			return fmt.Errorf("%s: %w", l, err)
		}
		for _, e := range events {
			c.Apply(e)
		}
		if len(events) == 0 {
			continue
		}
		data, err := app.Envelopes(cpts.Stream(id), cmd.Meta().CommandID, "bench", events)
		if err != nil {
			return err
		}
		send(appendJob{cpts.Stream(id), data, id[0]})
		*total += len(data)
	}
	return nil
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

// Remove deletes the ledger built by this run unless it is kept
// (LEDGER_BENCH_KEEP): call it from TestMain after the run.
func Remove() {
	if ledgerPath != "" && !keptLedger {
		os.RemoveAll(filepath.Dir(ledgerPath))
	}
}
