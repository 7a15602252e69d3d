package main

import (
	"fmt"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// runTotals prints decided amounts per calendar year of decision, by scheme,
// CPAM, ARS or tier, each row for one scheme, then the grand total: what the
// finance teams' spreadsheets start from.
func runTotals(e *cli.Env, args []string) error {
	fs := e.Flags("totals")
	by := fs.String("by", "year", "group by year, scheme, cpam, ars or tier")
	window := e.WindowFlags(fs, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if !query.IsDimension(*by) {
		return cli.Usage(fmt.Sprintf("--by %q: want year, scheme, cpam, ars or tier", *by))
	}
	w, err := window()
	if err != nil {
		return err
	}
	return e.Reads(func(q *query.Ledger) error {
		totals, err := q.Totals(e.Ctx, *by, w)
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(totals)
		}
		return textout.Totals(e.Stdout, *by, totals)
	})
}
