package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runAlerts(e *env, args []string) error {
	fs := e.flags("alerts")
	window := e.dateWindowFlags(fs, "date of the alerts (default today)", cpts.DueSoonDays, "days ahead in which a deadline is due_soon")
	status := fs.String("status", "", "only this status: "+strings.Join(query.AlertStatuses, ", ")+" (open: overdue, due_soon and pending)")
	cpam := fs.String("cpam", "", "only the contracts of this CPAM")
	ars := fs.String("ars", "", "only the contracts of this ARS")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	w, within, err := window()
	if err != nil {
		return err
	}
	if *status != "" && !slices.Contains(query.AlertStatuses, *status) {
		return usageError{fmt.Sprintf("--status %q: want one of %s", *status, strings.Join(query.AlertStatuses, ", "))}
	}
	return e.reads(func(q *query.Ledger) error {
		alerts, err := q.Alerts(e.ctx, w, within, query.AlertFilter{Status: *status, CPAM: *cpam, ARS: *ars})
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(alerts)
		}
		return textout.Alerts(e.stdout, alerts)
	})
}
