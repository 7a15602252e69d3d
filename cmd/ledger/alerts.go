package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runAlerts(e *cli.Env, args []string) error {
	fs := e.Flags("alerts")
	window := e.DateWindowFlags(fs, "date of the alerts (default today)", cpts.DueSoonDays, "days ahead in which a deadline is due_soon")
	status := fs.String("status", "", "only this status: "+strings.Join(query.AlertStatuses, ", ")+" (open: overdue, due_soon and pending)")
	cpam := fs.String("cpam", "", "only the contracts of this CPAM")
	ars := fs.String("ars", "", "only the contracts of this ARS")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	w, within, err := window()
	if err != nil {
		return err
	}
	if *status != "" && !slices.Contains(query.AlertStatuses, *status) {
		return cli.Usage(fmt.Sprintf("--status %q: want one of %s", *status, strings.Join(query.AlertStatuses, ", ")))
	}
	return e.Reads(func(q *query.Ledger) error {
		if err := e.CheckFilters(q, nil, query.PartyFilter{CPAM: *cpam, ARS: *ars}); err != nil {
			return err
		}
		alerts, err := q.Alerts(e.Ctx, w, within, query.AlertFilter{Status: *status, CPAM: *cpam, ARS: *ars})
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(alerts)
		}
		return textout.Alerts(e.Stdout, alerts)
	})
}
