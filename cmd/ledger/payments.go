package main

import (
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runPayments(e *cli.Env, args []string) error {
	id, w, err := e.ParseContractQuery("payments", args, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err != nil {
		return err
	}
	return e.Reads(func(q *query.Ledger) error {
		ps, err := q.Payments(e.Ctx, id, w)
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(ps)
		}
		return textout.Payments(e.Stdout, ps)
	})
}
