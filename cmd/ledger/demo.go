package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/demo"
	"github.com/cptsledger/ledger/internal/dirlock"
)

// runDemo generates a national history, submits it through the same path
// as `ledger submit`, and reports on it.
func runDemo(e *cli.Env, args []string) error {
	f, err := parseDemo(e, args)
	if err != nil {
		return err
	}
	// The demo holds its directory's serve lock for its whole run: no
	// serve starts on a ledger half made, and no second demo removes it.
	lock, err := lockDemo(e)
	if err != nil {
		return err
	}
	defer lock.Release()
	if f.fresh || f.remove {
		if err := removeDemo(e); err != nil {
			return err
		}
		if f.remove {
			// Nothing left but the lock, held: let it go, then the
			// directory itself (make clean leaves nothing behind).
			lock.Release()
			os.Remove(filepath.Join(e.Global.Data, "serve.lock"))
			os.Remove(e.Global.Data)
			return nil
		}
	}
	if err := claimForDemo(e); err != nil {
		return err
	}
	store, err := e.CreateStore()
	if err != nil {
		return err
	}
	defer store.Close()
	models := e.Models()
	defer models.Close()
	rejected, err := demo.Run(&demo.Env{Ctx: e.Ctx, Out: e.Stdout, Err: e.Stderr, Schemes: e.Schemes,
		Progress: e.ProgressBar("events"), EndProgress: e.EndProgress}, store, models,
		demo.Options{Seed: f.seed, Contracts: f.contracts, AidContracts: f.aidContracts, Workers: f.workers, Today: f.today, DataDir: e.Global.Data})
	if err != nil {
		return err
	}
	if rejected > 0 {
		return cli.Fail(fmt.Sprintf("%d generated commands were rejected", rejected))
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

func parseDemo(e *cli.Env, args []string) (*demoFlags, error) {
	f := &demoFlags{}
	fs := e.Flags("demo")
	fs.Uint64Var(&f.seed, "seed", 2019, "random seed of the generated history")
	fs.IntVar(&f.contracts, "contracts", 700, "number of CPTS")
	fs.IntVar(&f.aidContracts, "aid-contracts", 7240, "number of medical-assistant aid contracts")
	fs.IntVar(&f.workers, "workers", 8, "commands submitted in parallel (each contract's commands stay in order)")
	todayFlag := fs.String("today", "", "last business date of the history (default today)")
	fs.BoolVar(&f.fresh, "fresh", false, "remove the demo's ledger first (refused while a process holds its directory)")
	fs.BoolVar(&f.remove, "remove", false, "remove the demo's ledger and stop (refused while a process holds its directory)")
	if err := e.Parse(fs, args); err != nil {
		return nil, err
	}
	f.today = domain.DateOf(time.Now())
	if *todayFlag != "" {
		d, err := domain.ParseDate(*todayFlag)
		if err != nil {
			return nil, cli.Usage("--today: " + err.Error())
		}
		f.today = d
	}
	if f.contracts < 0 || f.contracts > 100_000 || f.aidContracts < 0 || f.aidContracts > 100_000 {
		return nil, cli.Usage("--contracts and --aid-contracts must be between 0 and 100000")
	}
	if f.workers < 1 || f.workers > 64 {
		return nil, cli.Usage("--workers must be between 1 and 64")
	}
	return f, nil
}

// The data directory of real use, and the demo's when --data is not given.
const (
	defaultData = "./data"
	demoData    = "./demo-data"
)

// claimForDemo refuses a data directory that holds a ledger the demo did
// not make, and marks a new one as the demo's (demo.Claim); lockDemo
// chose the directory and refused a store other than the embedded one.
func claimForDemo(e *cli.Env) error {
	if err := demo.Claim(e.Global.Data, e.RequireLedger() == nil); err != nil {
		return cli.Fail(err.Error())
	}
	return nil
}

// lockDemo takes the serve lock of the demo's directory (./demo-data
// unless --data or LEDGER_DATA say otherwise), refusing while a serve or
// another demo holds it.
func lockDemo(e *cli.Env) (*dirlock.Lock, error) {
	if e.Global.Store != "" && e.Global.Store != "embedded" {
		return nil, cli.Fail("the demo runs on the embedded store only (it would add fake contracts to the server's ledger)")
	}
	if e.Global.Data == defaultData && os.Getenv("LEDGER_DATA") == "" {
		// Without --data, the demo's own directory: ./data is where real
		// use keeps its ledger.
		e.Global.Data = demoData
	}
	lock, err := lockServe(e)
	if err != nil {
		return nil, cli.Fail("the demo changes nothing: " + err.Error())
	}
	return lock, nil
}

// removeDemo removes the demo's ledger (demo.Remove), the caller holding
// the directory's lock.
func removeDemo(e *cli.Env) error {
	removed, err := demo.Remove(e.Global.Data)
	if err != nil {
		return cli.Fail(err.Error())
	}
	if removed {
		fmt.Fprintf(e.Stdout, "removed the demo's ledger in %s\n", e.Global.Data)
	}
	return nil
}
