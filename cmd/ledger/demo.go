package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/demo"
	"github.com/cptsledger/ledger/internal/dirlock"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/projections"
)

// runDemo generates a national history, submits it through the same path
// as `ledger submit`, and reports on it.
func runDemo(e *env, args []string) error {
	f, err := parseDemo(e, args)
	if err != nil {
		return err
	}
	// The demo holds its directory's serve lock for its whole run: no
	// serve starts on a ledger half made, and no second demo removes it.
	lock, err := e.lockDemo()
	if err != nil {
		return err
	}
	defer lock.Release()
	if f.fresh || f.remove {
		if err := e.removeDemo(); err != nil {
			return err
		}
		if f.remove {
			// Nothing left but the lock, held: let it go, then the
			// directory itself (make clean leaves nothing behind).
			lock.Release()
			os.Remove(filepath.Join(e.global.data, "serve.lock"))
			os.Remove(e.global.data)
			return nil
		}
	}
	if err := e.claimForDemo(); err != nil {
		return err
	}
	store, err := e.createStore()
	if err != nil {
		return err
	}
	defer store.Close()
	models := e.models()
	defer models.Close()
	rejected, err := demo.Run(&demo.Env{Ctx: e.ctx, Out: e.stdout, Err: e.stderr, Schemes: e.schemes,
		Progress: progressBar(e, "events"), EndProgress: e.endProgress}, store, models,
		demo.Options{Seed: f.seed, Contracts: f.contracts, AidContracts: f.aidContracts, Workers: f.workers, Today: f.today, DataDir: e.global.data})
	if err != nil {
		return err
	}
	if rejected > 0 {
		return failed{fmt.Sprintf("%d generated commands were rejected", rejected)}
	}
	return nil
}

// demoFlags are the demo's flags.
type demoFlags struct {
	seed                             uint64
	contracts, aidContracts, workers int
	today                            domain.Date
	fresh, remove                    bool
}

func parseDemo(e *env, args []string) (*demoFlags, error) {
	f := &demoFlags{}
	fs := e.flags("demo")
	fs.Uint64Var(&f.seed, "seed", 2019, "random seed of the generated history")
	fs.IntVar(&f.contracts, "contracts", 700, "number of CPTS")
	fs.IntVar(&f.aidContracts, "aid-contracts", 7240, "number of medical-assistant aid contracts")
	fs.IntVar(&f.workers, "workers", 8, "commands submitted in parallel (each contract's commands stay in order)")
	todayFlag := fs.String("today", "", "last business date of the history (default today)")
	fs.BoolVar(&f.fresh, "fresh", false, "remove the demo's ledger first (refused while a process holds its directory)")
	fs.BoolVar(&f.remove, "remove", false, "remove the demo's ledger and stop (refused while a process holds its directory)")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	f.today = domain.DateOf(time.Now())
	if *todayFlag != "" {
		d, err := domain.ParseDate(*todayFlag)
		if err != nil {
			return nil, usageError{"--today: " + err.Error()}
		}
		f.today = d
	}
	if f.contracts < 0 || f.contracts > 100_000 || f.aidContracts < 0 || f.aidContracts > 100_000 {
		return nil, usageError{"--contracts and --aid-contracts must be between 0 and 100000"}
	}
	if f.workers < 1 || f.workers > 64 {
		return nil, usageError{"--workers must be between 1 and 64"}
	}
	return f, nil
}

// progressBar reports a runner's progress on standard error, when it is a
// terminal: a log file or a pipe gets no carriage-return frames.
func progressBar(e *env, unit string) func(projections.Progress) {
	if !textout.IsTerminal(e.stderr) {
		return nil
	}
	last := time.Time{}
	return func(p projections.Progress) {
		if time.Since(last) < 200*time.Millisecond && p.Position < p.Head {
			return
		}
		e.progressShown = true
		last = time.Now()
		pct := 100.0
		if p.Head > 0 {
			pct = float64(p.Position) * 100 / float64(p.Head)
		}
		const width = 30
		filled := int(pct / 100 * width)
		fmt.Fprintf(e.stderr, "\r   [%s%s] %5.1f%%  %d/%d %s  %.0f/s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
			pct, p.Position, p.Head, unit, p.Rate())
	}
}

// endProgress ends the line a progress bar drew, if one did.
func (e *env) endProgress() {
	if e.progressShown {
		fmt.Fprintln(e.stderr)
		e.progressShown = false
	}
}

// The data directory of real use, and the demo's when --data is not given.
const (
	defaultData = "./data"
	demoData    = "./demo-data"
)

// claimForDemo refuses a data directory that holds a ledger the demo did
// not make, and marks a new one as the demo's (demo.Claim).
func (e *env) claimForDemo() error {
	if e.global.store != "" && e.global.store != "embedded" {
		return failed{"the demo runs on the embedded store only (it would add fake contracts to the server's ledger)"}
	}
	if e.global.data == defaultData && os.Getenv("LEDGER_DATA") == "" {
		// Without --data, the demo's own directory: ./data is where real
		// use keeps its ledger.
		e.global.data = demoData
	}
	if err := demo.Claim(e.global.data, e.requireLedger() == nil); err != nil {
		return failed{err.Error()}
	}
	return nil
}

// lockDemo takes the serve lock of the demo's directory (./demo-data
// unless --data or LEDGER_DATA say otherwise), refusing while a serve or
// another demo holds it.
func (e *env) lockDemo() (*dirlock.Lock, error) {
	if e.global.store != "" && e.global.store != "embedded" {
		return nil, failed{"the demo runs on the embedded store only (it would add fake contracts to the server's ledger)"}
	}
	if e.global.data == defaultData && os.Getenv("LEDGER_DATA") == "" {
		e.global.data = demoData
	}
	lock, err := lockServe(e)
	if err != nil {
		return nil, failed{"the demo changes nothing: " + err.Error()}
	}
	return lock, nil
}

// removeDemo removes the demo's ledger (demo.Remove), the caller holding
// the directory's lock.
func (e *env) removeDemo() error {
	removed, err := demo.Remove(e.global.data)
	if err != nil {
		return failed{err.Error()}
	}
	if removed {
		fmt.Fprintf(e.stdout, "removed the demo's ledger in %s\n", e.global.data)
	}
	return nil
}
