package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// runRebuild builds the read models again from the whole log into a new
// file, and switches to it once complete: queries and serve keep reading
// the old one meanwhile. The notary's tree, when the directory has one, is
// rebuilt and compared.
func runRebuild(e *env, args []string) error {
	if err := e.parse(e.flags("rebuild"), args); err != nil {
		return err
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	models := e.models()
	defer models.Close()
	prog, err := models.Rebuild(e.ctx, store, projections.BuildOptions{OnProgress: progressBar(e, "events")})
	e.endProgress()
	if err != nil {
		return e.chainFailure("rebuild", err)
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
		out["tree_replaced"] = rep.FirstDifferent >= 0 && rep.Refused == ""
		switch {
		case rep.Refused != "":
			treeFailure = failed{fmt.Sprintf("the Merkle tree rebuilt from the log differs from the one kept, from leaf %d on, and was NOT put in its place: %s. The kept tree is unchanged; ledger verify --checkpoint with the published checkpoints tells where the log changed", rep.FirstDifferent, rep.Refused)}
		case rep.FirstDifferent >= 0:
			treeFailure = failed{fmt.Sprintf("the Merkle tree kept differed from the log from leaf %d on, while the log still has the root of every signed checkpoint: the tree files were damaged; the tree was rebuilt from the log (old files kept in %s)", rep.FirstDifferent, rep.Aside)}
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
				if it.Status == "withheld" {
					amount = "withheld"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%12s\t%s\t\n", it.DueOn, it.ContractID, it.CPTSName, it.Kind, it.ContractYear, it.Mission, amount, over)
		}
		return tw.Flush()
	})
}

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
