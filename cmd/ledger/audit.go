package main

import (
	"fmt"

	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runAudit(e *env, args []string) error {
	id, w, err := e.parseContractQuery("audit", args, "only events whose business date is on or before this date")
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		trail, err := q.Audit(e.ctx, id, w)
		if err != nil {
			return err
		}
		if e.global.json {
			if err := e.printJSON(trail.Events); err != nil {
				return err
			}
		} else if err := textout.Audit(e.stdout, trail.Events); err != nil {
			return err
		}
		if !trail.ChainOK {
			return failed{fmt.Sprintf("hash chain broken at revision %d (event %s): %s", trail.FirstBad.Revision, trail.FirstBad.EventID, trail.Problem)}
		}
		return nil
	})
}
