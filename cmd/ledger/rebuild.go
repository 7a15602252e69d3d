package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/cptsledger/ledger/projections"
)

// runRebuild empties the read models and projects the whole log again.
func runRebuild(e *env, args []string) error {
	if err := e.parse(e.flags("rebuild"), args); err != nil {
		return err
	}
	store, db, err := e.openReadModels()
	if err != nil {
		return err
	}
	defer store.Close()
	defer db.Close()
	prog, err := projections.NewRunner(store, db, projections.Options{OnProgress: progressBar(e, "events")}).Rebuild(e.ctx)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return err
	}
	if e.global.json {
		return e.printJSON(map[string]any{"applied": prog.Applied, "position": prog.Position, "seconds": prog.Elapsed.Seconds(), "events_per_second": int(prog.Rate())})
	}
	fmt.Fprintf(e.stdout, "rebuilt: %d events applied up to position %d in %s (%.0f events/s)\n", prog.Applied, prog.Position, prog.Elapsed.Round(time.Millisecond), prog.Rate())
	return nil
}

// runSchedule lists what falls due: anniversary advances, reports awaited,
// balances awaiting decision, top-ups.
func runSchedule(e *env, args []string) error {
	fs := e.flags("schedule")
	window := dateWindowFlags(fs, "date from which to look ahead (default today)", 31, "days ahead")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	asOf, within, err := window()
	if err != nil {
		return err
	}
	store, db, err := e.readModels()
	if err != nil {
		return err
	}
	defer store.Close()
	defer db.Close()
	items, err := db.Schedule(e.ctx, asOf, within)
	if err != nil {
		return err
	}
	if e.global.json {
		return e.printJSON(items)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DUE\tCONTRACT\tCPTS\tKIND\tYEAR\tOVERDUE\t")
	for _, it := range items {
		over := ""
		if it.Overdue {
			over = "overdue"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t\n", it.DueOn, it.ContractID, it.CPTSName, it.Kind, it.ContractYear, over)
	}
	return tw.Flush()
}
