package main

import (
	"fmt"

	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runBalance(e *env, args []string) error {
	id, w, err := e.parseContractQuery("balance", args, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		b, err := q.Balance(e.ctx, id, w)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(b)
		}
		tw := textout.NewTable(e.stdout)
		if b.Tier != "" {
			fmt.Fprintf(tw, "contract %s  %s  tier %s  rulebook %s\n", id, b.Scheme, b.Tier, b.Rulebook)
		} else {
			fmt.Fprintf(tw, "contract %s  %s  rulebook %s\n", id, b.Scheme, b.Rulebook)
		}
		fmt.Fprintln(tw, "YEAR\tDECIDED\tOF WHICH REGULARISED\tTO RECOVER\t")
		for _, y := range b.ByYear {
			fmt.Fprintf(tw, "%d\t%12s\t%12s\t%12s\t\n", y.ContractYear, y.Decided, y.Regularised, y.OutstandingRecovery)
		}
		fmt.Fprintf(tw, "total\t%12s\t%12s\t%12s\t\n", b.DecidedTotal, b.RegularisedTotal, b.OutstandingRecovery)
		return tw.Flush()
	})
}
