package main

import (
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// runRulebooks prints the rulebook versions with the amounts in force per
// tier, the amendments published and the crises recognised.
func runRulebooks(e *env, args []string) error {
	fs := e.flags("rulebooks")
	window := e.windowFlags(fs, "the amounts in force, the amendments and the crises as of this business date (YYYY-MM-DD)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	w, err := window()
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		r, err := q.Rulebooks(e.ctx, w)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(r)
		}
		return textout.Rulebooks(e.stdout, r)
	})
}
