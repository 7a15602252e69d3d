package main

import (
	"fmt"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runAudit(e *cli.Env, args []string) error {
	id, w, err := e.ParseContractQuery("audit", args, "only events whose business date is on or before this date")
	if err != nil {
		return err
	}
	return e.Reads(func(q *query.Ledger) error {
		trail, err := q.Audit(e.Ctx, id, w)
		if err != nil {
			return err
		}
		if e.Global.JSON {
			if err := e.PrintJSON(trail.Events); err != nil {
				return err
			}
		} else if err := textout.Audit(e.Stdout, trail.Events); err != nil {
			return err
		}
		if !trail.ChainOK {
			return cli.Fail(fmt.Sprintf("hash chain broken at revision %d (event %s): %s", trail.FirstBad.Revision, trail.FirstBad.EventID, trail.Problem))
		}
		return nil
	})
}
