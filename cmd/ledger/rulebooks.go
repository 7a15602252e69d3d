package main

import (
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// runRulebooks prints the rulebook versions with the amounts in force per
// tier, the amendments published and the crises recognised.
func runRulebooks(e *cli.Env, args []string) error {
	fs := e.Flags("rulebooks")
	window := e.WindowFlags(fs, "the amounts in force, the amendments and the crises as of this business date (YYYY-MM-DD)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	w, err := window()
	if err != nil {
		return err
	}
	return e.Reads(func(q *query.Ledger) error {
		r, err := q.Rulebooks(e.Ctx, w)
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(r)
		}
		return textout.Rulebooks(e.Stdout, r)
	})
}
