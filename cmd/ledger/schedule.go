package main

import (
	"fmt"

	"github.com/cptsledger/ledger/domain"
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
		tw := textout.NewTable(e.stdout)
		fmt.Fprintln(tw, "DUE\tCONTRACT\tBENEFICIARY\tKIND\tYEAR\tMISSION\tAMOUNT\tOVERDUE\t")
		for _, it := range items {
			over, amount := "", ""
			if it.Overdue {
				over = "overdue"
			}
			if it.Amount != nil {
				amount = it.Amount.String()
				if it.Status == domain.StatusWithheld {
					amount = domain.StatusWithheld
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%12s\t%s\t\n", it.DueOn, it.ContractID, it.CPTSName, it.Kind, it.ContractYear, it.Mission, amount, over)
		}
		return tw.Flush()
	})
}
