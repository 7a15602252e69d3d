package textout

import (
	"fmt"
	"io"
	"strings"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/query"
)

// Alerts writes deadline alerts, one a line.
func Alerts(w io.Writer, alerts []query.Alert) error {
	tw := NewTable(w)
	fmt.Fprintln(tw, "CONTRACT\tMISSION\tKIND\tMONTHS\tDEADLINE\tSTATUS\t")
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", a.ContractID, a.Mission, a.Kind, a.Months, a.Deadline, a.Status)
	}
	return tw.Flush()
}

// Schedule writes what falls due, one item a line (a withheld amount says
// so).
func Schedule(w io.Writer, items []query.ScheduleItem) error {
	tw := NewTable(w)
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
}

// Totals writes decided amounts by the dimension by (year: by calendar
// year only), the grand total last.
func Totals(w io.Writer, by string, totals []query.Total) error {
	tw := NewTable(w)
	head := strings.ToUpper(by) + "\t"
	if by == "year" {
		head = ""
	}
	fmt.Fprintf(tw, "%sSCHEME\tYEAR\tPAYMENTS\tDECIDED\t\n", head)
	for _, t := range totals {
		year, key := "", t.Key+"\t"
		if t.CalendarYear != nil {
			year = fmt.Sprint(*t.CalendarYear)
		}
		if by == "year" {
			key = ""
			if t.CalendarYear == nil {
				year = "total"
			}
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%d\t%15s\t\n", key, t.Scheme, year, t.Payments, t.Decided)
	}
	return tw.Flush()
}

// Balance writes a contract's decided amounts by contract year.
func Balance(w io.Writer, b query.Balance) error {
	tw := NewTable(w)
	if b.Tier != "" {
		fmt.Fprintf(tw, "contract %s  %s  tier %s  rulebook %s\n", b.ContractID, b.Scheme, b.Tier, b.Rulebook)
	} else {
		fmt.Fprintf(tw, "contract %s  %s  rulebook %s\n", b.ContractID, b.Scheme, b.Rulebook)
	}
	fmt.Fprintln(tw, "YEAR\tDECIDED\tOF WHICH REGULARISED\tTO RECOVER\t")
	for _, y := range b.ByYear {
		fmt.Fprintf(tw, "%d\t%12s\t%12s\t%12s\t\n", y.ContractYear, y.Decided, y.Regularised, y.OutstandingRecovery)
	}
	fmt.Fprintf(tw, "total\t%12s\t%12s\t%12s\t\n", b.DecidedTotal, b.RegularisedTotal, b.OutstandingRecovery)
	return tw.Flush()
}

// Contracts writes a page of a search on w, and on info how many were
// found and how to ask for the next page.
func Contracts(w, info io.Writer, page query.ContractPage) error {
	tw := NewTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tSCHEME\tTIER\tCPAM\tARS\tSIGNED\tSTATUS")
	for _, c := range page.Contracts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ContractID, c.Name, c.Scheme, c.Tier, c.CPAM, c.ARS, c.SignedOn, c.Status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verb := "match"
	if page.Total == 1 {
		verb = "matches"
	}
	fmt.Fprintf(info, "%s %s", Plural(page.Total, "contract"), verb)
	if n := len(page.Contracts); n > 0 && n < page.Total {
		fmt.Fprintf(info, ", showing %d–%d", page.From, page.From+n-1)
	}
	if page.NextCursor != "" {
		fmt.Fprintf(info, "; next page: --cursor %s", page.NextCursor)
	}
	switch {
	case page.PrevCursor != "":
		fmt.Fprintf(info, "; previous: --cursor %s", page.PrevCursor)
	case page.HasPrevious:
		fmt.Fprint(info, "; previous: without --cursor")
	}
	fmt.Fprintln(info)
	return nil
}
