package main

import (
	"fmt"
	"strings"

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
		tw := textout.NewTable(e.stdout)
		head := strings.ToUpper(*by) + "\t"
		if *by == "year" {
			head = ""
		}
		fmt.Fprintf(tw, "%sSCHEME\tYEAR\tPAYMENTS\tDECIDED\t\n", head)
		for _, t := range totals {
			year, key := "", t.Key+"\t"
			if t.CalendarYear != nil {
				year = fmt.Sprint(*t.CalendarYear)
			}
			if *by == "year" {
				key = ""
				if t.CalendarYear == nil {
					year = "total"
				}
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%d\t%15s\t\n", key, t.Scheme, year, t.Payments, t.Decided)
		}
		return tw.Flush()
	})
}
