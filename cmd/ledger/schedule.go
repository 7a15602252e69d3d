package main

import (
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// runSchedule lists what falls due: payments not decided yet, with the
// amounts that would be decided, and reports awaited.
func runSchedule(e *cli.Env, args []string) error {
	fs := e.Flags("schedule")
	window := e.DateWindowFlags(fs, "date from which to look ahead (default today)", 31, "days ahead")
	cpam := fs.String("cpam", "", "only the contracts of this CPAM")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	w, within, err := window()
	if err != nil {
		return err
	}
	return e.Reads(func(q *query.Ledger) error {
		if err := e.CheckFilters(q, nil, query.PartyFilter{CPAM: *cpam}); err != nil {
			return err
		}
		items, err := q.Schedule(e.Ctx, w, within, query.ScheduleFilter{CPAM: *cpam})
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(items)
		}
		return textout.Schedule(e.Stdout, items)
	})
}
