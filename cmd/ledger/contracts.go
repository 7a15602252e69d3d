package main

import (
	"fmt"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

func runContracts(e *cli.Env, args []string) error {
	fs := e.Flags("contracts")
	s := query.ContractSearch{}
	fs.StringVar(&s.Q, "q", "", "a part of the name (any case), or the start of the id")
	fs.StringVar(&s.CPAM, "cpam", "", "only the contracts of this CPAM (as the contracts name it; a wrong name lists the known ones)")
	fs.StringVar(&s.ARS, "ars", "", "only the contracts of this ARS")
	fs.StringVar(&s.Tier, "tier", "", "only this tier: T1, T2, T3 or T4")
	fs.StringVar(&s.Scheme, "scheme", "", "only this scheme: cpts or assistant")
	fs.StringVar(&s.Status, "status", "", "live or terminated")
	fs.IntVar(&s.Limit, "limit", query.DefaultPage, fmt.Sprintf("contracts per page (1 to %d)", query.MaxPage))
	fs.StringVar(&s.Cursor, "cursor", "", "the next_cursor of the previous page")
	window := e.WindowFlags(fs, "the contracts as of this date: signed by then, terminated by then (default: now)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	var err error
	if s.Window, err = window(); err != nil {
		return err
	}
	if s.Limit < 1 {
		return cli.Usage(fmt.Sprintf("--limit must be 1 to %d, got %d", query.MaxPage, s.Limit))
	}
	return e.Reads(func(q *query.Ledger) error {
		if err := e.CheckFilters(q, q.Check(s), query.PartyFilter{CPAM: s.CPAM, ARS: s.ARS, Tier: s.Tier}); err != nil {
			return err
		}
		page, err := q.SearchContracts(e.Ctx, s)
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(page)
		}
		return textout.Contracts(e.Stdout, e.Stderr, page)
	})
}
