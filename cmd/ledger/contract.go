package main

import (
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runContract(e *env, args []string) error {
	id, w, err := e.parseContractQuery("contract", args, "the contract as of this business date (YYYY-MM-DD)")
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		d, err := q.ContractAt(e.ctx, id, w)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(d)
		}
		b, err := q.Balance(e.ctx, id, w)
		if err != nil {
			return err
		}
		return textout.Contract(e.stdout, d, b)
	})
}
