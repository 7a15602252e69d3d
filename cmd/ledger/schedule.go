package main

import (
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// runSchedule lists what falls due: payments not decided yet, with the
// amounts that would be decided, and reports awaited.
func runSchedule(e *env, args []string) error {
	fs := e.flags("schedule")
	window := e.dateWindowFlags(fs, "date from which to look ahead (default today)", 31, "days ahead")
	cpam := fs.String("cpam", "", "only the contracts of this CPAM")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	w, within, err := window()
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		items, err := q.Schedule(e.ctx, w, within, query.ScheduleFilter{CPAM: *cpam})
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(items)
		}
		return textout.Schedule(e.stdout, items)
	})
}
