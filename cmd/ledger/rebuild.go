package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cptsledger/ledger/eventstore"
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
	out := map[string]any{"applied": prog.Applied, "position": prog.Position, "seconds": prog.Elapsed.Seconds(), "events_per_second": int(prog.Rate())}
	var treeFailure error
	if e.hasTree() {
		tree, err := e.openTree()
		if err != nil {
			return err
		}
		defer tree.Close()
		rep, err := tree.Rebuild(e.ctx, store)
		if err != nil {
			return err
		}
		out["tree_leaves"], out["tree_compared"], out["tree_first_different_leaf"] = rep.Leaves, rep.Compared, rep.FirstDifferent
		if rep.FirstDifferent >= 0 {
			treeFailure = failed{fmt.Sprintf("the Merkle tree rebuilt from the log differs from the one kept, from leaf %d on: the log or the tree files changed since (old files kept in %s); ledger verify --checkpoint tells which", rep.FirstDifferent, rep.Aside)}
		}
	}
	if e.global.json {
		if err := e.printJSON(out); err != nil {
			return err
		}
		return treeFailure
	}
	fmt.Fprintf(e.stdout, "rebuilt: %d events applied up to position %d in %s (%.0f events/s)\n", prog.Applied, prog.Position, prog.Elapsed.Round(time.Millisecond), prog.Rate())
	if leaves, ok := out["tree_leaves"]; ok && treeFailure == nil {
		fmt.Fprintf(e.stdout, "tree: %d leaves rebuilt from the log; the %d kept before have the same hashes\n", leaves, out["tree_compared"])
	}
	return treeFailure
}

// runSchedule lists what falls due: anniversary advances, reports awaited,
// balances awaiting decision, top-ups.
func runSchedule(e *env, args []string) error {
	fs := e.flags("schedule")
	window := e.dateWindowFlags(fs, "date from which to look ahead (default today)", 31, "days ahead")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	asOf, within, err := window()
	if err != nil {
		return err
	}
	return e.query(func(store eventstore.Store, db *projections.DB) error {
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
	})
}

// runTotals prints decided amounts per calendar year of decision, by scheme,
// CPAM, ARS or tier: what the finance teams' spreadsheets start from.
func runTotals(e *env, args []string) error {
	fs := e.flags("totals")
	by := fs.String("by", "year", "group by year, scheme, cpam, ars or tier")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	switch *by {
	case "year", "scheme", "cpam", "ars", "tier":
	default:
		return usageError{fmt.Sprintf("--by %q: want year, scheme, cpam, ars or tier", *by)}
	}
	return e.query(func(store eventstore.Store, db *projections.DB) error {
		totals, err := db.Totals(e.ctx, *by)
		if err != nil {
			return err
		}
		if totals == nil {
			totals = []projections.Total{}
		}
		if e.global.json {
			return e.printJSON(totals)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		if *by == "year" {
			fmt.Fprintln(tw, "YEAR\tPAYMENTS\tDECIDED\t")
			for _, t := range totals {
				fmt.Fprintf(tw, "%s\t%d\t%15s\t\n", t.CalendarYear, t.Payments, t.Decided)
			}
			return tw.Flush()
		}
		fmt.Fprintf(tw, "%s\tYEAR\tPAYMENTS\tDECIDED\t\n", strings.ToUpper(*by))
		for _, t := range totals {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%15s\t\n", t.Key, t.CalendarYear, t.Payments, t.Decided)
		}
		return tw.Flush()
	})
}
