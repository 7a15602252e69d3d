package payrun

import (
	"fmt"
	"io"
	"strings"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// Overpayments is `ledger overpayments`: the notices and where each
// stands, or, with --notice, the letter of one in French.
func Overpayments(e *cli.Env, args []string) error {
	fs := e.Flags("overpayments")
	contract := fs.String("contract", "", "only this contract's notices")
	notice := fs.String("notice", "", "print the letter of this notice (its reference, INDU-…), in French")
	window := e.WindowFlags(fs, "where each stood on this date (default today)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	w, err := window()
	if err != nil {
		return err
	}
	id, err := optionalContract(*contract)
	if err != nil {
		return err
	}
	return e.Reads(func(q *query.Ledger) error {
		list, err := q.Overpayments(e.Ctx, id, w)
		if err != nil {
			return err
		}
		if *notice != "" {
			for _, o := range list {
				if strings.EqualFold(o.Reference, *notice) {
					return WriteNotice(e.Stdout, o)
				}
			}
			return cli.Fail(fmt.Sprintf("no notice %s in the ledger", *notice))
		}
		if e.Global.JSON {
			return e.PrintJSON(list)
		}
		return writeOverpayments(e.Stdout, list)
	})
}

func writeOverpayments(w io.Writer, list []query.Overpayment) error {
	tw := textout.NewTable(w)
	fmt.Fprintln(tw, "NOTICE\tCONTRACT\tBENEFICIARY\tSENT\tDEADLINE\tSTATE\tAMOUNT\tOFFSET\tREPAID\tREMAINING\t")
	for _, o := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%12s\t%12s\t%12s\t%12s\t\n", o.Reference, o.ContractID, o.Beneficiary, o.NoticeOn, o.Deadline,
			o.State, o.Owed, o.Offset, o.Repaid, o.Remaining)
	}
	return tw.Flush()
}

// WriteNotice writes the letter a CPAM sends for an overpayment (CSS art.
// L.133-4 and R.133-9-1): the cause, the nature and the amount, the
// payments it comes from, the dates, the two months to repay or to
// contest before the Commission de recours amiable, and what follows.
func WriteNotice(w io.Writer, o query.Overpayment) error {
	date := func(d domain.Date) string {
		y, m, day := d.YMD()
		return fmt.Sprintf("%02d/%02d/%04d", day, m, y)
	}
	euros := func(m domain.Money) string { return strings.Replace(m.String(), ".", ",", 1) + " €" }
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nNotification de payer un indu — référence %s\n\n", o.CPAM, o.Reference)
	fmt.Fprintf(&b, "Destinataire : %s (contrat %s)\nDate de la notification : %s\n\n", o.Beneficiary, o.ContractID, date(o.NoticeOn))
	fmt.Fprintf(&b, "Montant de l'indu : %s\n\nCause et nature : %s\n\n", euros(o.Amount), o.Cause)
	fmt.Fprintf(&b, "Paiements concernés : %d (%s)\n\n", len(o.Payments), joinIDs(o))
	fmt.Fprintf(&b, "Vous disposez d'un délai de deux mois, soit jusqu'au %s inclus, pour rembourser cette somme, par virement "+
		"portant la référence %s, ou pour contester cette notification devant la Commission de recours amiable de votre caisse "+
		"(articles L.133-4 et R.133-9-1 du code de la sécurité sociale).\n\n", date(o.Deadline), o.Reference)
	b.WriteString("À défaut de remboursement ou de contestation dans ce délai, la somme restant due sera retenue sur les prochains " +
		"paiements qui vous seront versés au titre de ce contrat.\n")
	if o.State != domain.StateNotified {
		fmt.Fprintf(&b, "\nÉtat au %s : %s ; reste dû %s.\n", date(domain.DateOf(nowFunc())), stateFR[o.State], euros(o.Remaining))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var stateFR = map[string]string{domain.StateNotified: "notifié", domain.StateContested: "contesté, en attente de la décision",
	domain.StateOffsetting: "dû, retenu sur les prochains paiements", domain.StateSettled: "soldé", domain.StateCancelled: "annulé"}

func joinIDs(o query.Overpayment) string {
	ids := make([]string, len(o.Payments))
	for i, id := range o.Payments {
		ids[i] = id.String()
	}
	return strings.Join(ids, ", ")
}
