package main

import (
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runPayments(e *env, args []string) error {
	id, w, err := e.parseContractQuery("payments", args, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		ps, err := q.Payments(e.ctx, id, w)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(ps)
		}
		return textout.Payments(e.stdout, ps)
	})
}
