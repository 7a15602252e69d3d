package main

import (
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
		return textout.Balance(e.stdout, b)
	})
}
