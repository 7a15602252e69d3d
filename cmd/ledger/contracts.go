package main

import (
	"fmt"
	"slices"
	"strings"

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
	return e.Reads(func(q *query.Ledger) error {
		if vs := q.Check(s); len(vs) > 0 {
			return cli.Usage(vs.Err().Error())
		}
		page, err := q.SearchContracts(e.Ctx, s)
		if err != nil {
			return err
		}
		if len(page.Contracts) == 0 && (s.CPAM != "" || s.ARS != "") {
			if err := knownParty(e, q, s); err != nil {
				return err
			}
		}
		if e.Global.JSON {
			return e.PrintJSON(page)
		}
		return textout.Contracts(e.Stdout, e.Stderr, page)
	})
}

// knownParty refuses a CPAM or an ARS no contract names, listing the
// known ones: "Loiret" is not "CPAM du Loiret".
func knownParty(e *cli.Env, q *query.Ledger, s query.ContractSearch) error {
	cpams, arss, err := q.Parties(e.Ctx)
	if err != nil {
		return err
	}
	if s.CPAM != "" && !slices.Contains(cpams, s.CPAM) {
		return cli.Usage(fmt.Sprintf("--cpam %q: no contract names this CPAM; known: %s", s.CPAM, strings.Join(cpams, ", ")))
	}
	if s.ARS != "" && !slices.Contains(arss, s.ARS) {
		return cli.Usage(fmt.Sprintf("--ars %q: no contract names this ARS; known: %s", s.ARS, strings.Join(arss, ", ")))
	}
	return nil
}
