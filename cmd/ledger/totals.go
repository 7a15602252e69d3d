package main

import (
	"fmt"

	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// runTotals prints decided amounts per calendar year of decision, by scheme,
// CPAM, ARS or tier, each row for one scheme, then the grand total: what the
// finance teams' spreadsheets start from.
func runTotals(e *env, args []string) error {
	fs := e.flags("totals")
	by := fs.String("by", "year", "group by year, scheme, cpam, ars or tier")
	window := e.windowFlags(fs, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if !query.IsDimension(*by) {
		return usageError{fmt.Sprintf("--by %q: want year, scheme, cpam, ars or tier", *by)}
	}
	w, err := window()
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		totals, err := q.Totals(e.ctx, *by, w)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(totals)
		}
		return textout.Totals(e.stdout, *by, totals)
	})
}
