package main

import (
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runContract(e *cli.Env, args []string) error {
	id, w, err := e.ParseContractQuery("contract", args, "the contract as of this business date (YYYY-MM-DD)")
	if err != nil {
		return err
	}
	return e.Reads(func(q *query.Ledger) error {
		d, err := q.ContractAt(e.Ctx, id, w)
		if l, lerr := q.Letter(e.Ctx, id, w); query.IsUnknown(err) && lerr == nil {
			if e.Global.JSON {
				return e.PrintJSON(l) // a letter of intent's id
			}
			return textout.Letter(e.Stdout, l)
		}
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(d)
		}
		b, err := q.Balance(e.Ctx, id, w)
		if err != nil {
			return err
		}
		return textout.Contract(e.Stdout, d, b)
	})
}
