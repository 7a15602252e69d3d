package demo

import (
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// amendment2 reports amendment 2 as signed: the top-ups decided (at +75 %
// of the seed funding), the regularisations that cite the correction of
// the signed figures (a ledger upgraded from a release that paid +50 %),
// and the letters of intent with their aid, by tier.
func amendment2(e *Env, q *query.Ledger, db *projections.DB) error {
	topups, topupTotal := map[uuid.UUID]bool{}, domain.Money{}
	err := q.Export(e.Ctx, query.ExportFilter{PerPayment: true}, query.Window{}, domain.Money.String, func(row []string) error {
		if row[7] == cpts.KindAmorcageTopup {
			topups[uuid.MustParse(row[0])] = true
			topupTotal = topupTotal.Add(domain.MustMoney(row[15]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	regs, regTotal, recorded, err := signedFiguresRegularisations(e, q, topups)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "== Amendment 2 as signed (docs/domain.md §2.6): seed funding +75 %%, and the letters of intent\n")
	fmt.Fprintf(e.Out, "   amorcage top-ups decided: %d contracts, %s € (per tier: the seed funding × 0.75)\n", len(topups), textout.GroupThousands(topupTotal))
	if recorded {
		fmt.Fprintf(e.Out, "   regularisations citing %s: %d, %s € (ledger rulebooks lists the correction)\n", cpts.SignedFiguresAmendmentID, regs, textout.GroupThousands(regTotal))
	} else {
		fmt.Fprintf(e.Out, "   regularisations citing %s: none — this ledger decided the signed figure from the start; one upgraded\n", cpts.SignedFiguresAmendmentID)
		fmt.Fprintln(e.Out, "   from a release that paid +50 % records the correction at its first write and regularises each top-up")
	}
	return letters(e, db)
}

// signedFiguresRegularisations counts the regularisations whose lines cite
// the correction of amendment 2's figures, among the contracts with a
// top-up; recorded tells whether the ledger holds the correction.
func signedFiguresRegularisations(e *Env, q *query.Ledger, topups map[uuid.UUID]bool) (n int, total domain.Money, recorded bool, err error) {
	books, err := q.Rulebooks(e.Ctx, query.Window{})
	if err != nil {
		return 0, total, false, err
	}
	recorded = slices.ContainsFunc(books.Amendments, func(a query.AmendmentView) bool { return a.ID == cpts.SignedFiguresAmendmentID })
	if !recorded {
		return 0, total, false, nil
	}
	for id := range topups {
		ps, err := q.Payments(e.Ctx, id, query.Window{})
		if err != nil {
			return 0, total, true, err
		}
		for _, p := range ps {
			if p.Kind == domain.KindRegularisation && slices.ContainsFunc(p.Lines, func(l query.Line) bool {
				return l.Amendment != nil && l.Amendment.ID == cpts.SignedFiguresAmendmentID
			}) {
				n, total = n+1, total.Add(p.Amount)
			}
		}
	}
	return n, total, true, nil
}

// letters prints the letters of intent by tier: how many, how many a
// contract followed, and their aid.
func letters(e *Env, db *projections.DB) error {
	ls, err := db.LettersAt(e.Ctx, projections.Window{})
	if err != nil {
		return err
	}
	count, followed, aid := map[string]int{}, map[string]int{}, map[string]domain.Money{}
	var all domain.Money
	for _, l := range ls {
		count[l.Tier]++
		if l.ContractID != uuid.Nil {
			followed[l.Tier]++
		}
		ps, err := db.Payments(e.Ctx, l.LetterID, projections.Window{})
		if err != nil {
			return err
		}
		for _, p := range ps {
			aid[l.Tier] = aid[l.Tier].Add(p.Amount)
			all = all.Add(p.Amount)
		}
	}
	fmt.Fprintf(e.Out, "   letters of intent validated by the ARS (from 2022-04-01): %d, aid %s €\n", len(ls), textout.GroupThousands(all))
	tw := textout.NewRightTable(e.Out)
	fmt.Fprintln(tw, "tier\tletters\tfollowed by a contract\taid decided (€)\t")
	for _, t := range cpts.Embedded().TierCodes() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t\n", t, count[t], followed[t], textout.GroupThousands(aid[t]))
	}
	tw.Flush()
	fmt.Fprintln(e.Out)
	return nil
}
