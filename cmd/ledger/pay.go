package main

import (
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/payrun"
	"github.com/cptsledger/ledger/query"
)

// runPay orders the payments due to confirmed accounts and writes the
// pain.001 file for the bank (pay run).
func runPay(e *cli.Env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return e.Parse(e.Flags("pay"), args)
	}
	if len(args) == 0 || args[0] != "run" {
		return cli.Usage("ledger pay run --through DATE --out FILE: the action is run")
	}
	fs := e.Flags("pay run")
	o := payrun.Flags(fs, cli.EnvOr("LEDGER_ACTOR", cli.EnvOr("USER", "cli")))
	if err := e.Parse(fs, args[1:]); err != nil {
		return err
	}
	if !replayHistory { // a replayed history's runs are dated in its past
		o.Today = domain.DateOf(time.Now())
	}
	spec, err := payrun.Spec(*o)
	if err != nil {
		return cli.Usage(err.Error())
	}
	store, err := e.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	ledger := app.New(store, app.Options{Actor: o.Actor, Schemes: e.Schemes, ReplayHistory: replayHistory})
	return e.Reads(func(q *query.Ledger) error {
		if err := e.CheckFilters(q, nil, query.PartyFilter{CPAM: o.CPAM}); err != nil {
			return err
		}
		rep, err := payrun.Run(e.Ctx, ledger, q, spec, o.Out, e.Log)
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(rep)
		}
		return rep.WriteText(e.Stdout)
	})
}
