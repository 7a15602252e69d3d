package payrun

import (
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// Main is `ledger pay`: run orders the payments due to confirmed accounts
// and writes the pain.001 file for the bank; import records what a bank
// statement says of them. replay: a history replayed on its own dates.
func Main(e *cli.Env, args []string, replay bool) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return e.Parse(e.Flags("pay"), args)
	}
	if len(args) > 0 && args[0] == "import" {
		return importCommand(e, args[1:], replay)
	}
	if len(args) == 0 || args[0] != "run" {
		return cli.Usage("ledger pay run --through DATE --out FILE, or ledger pay import --file STATEMENT")
	}
	fs := e.Flags("pay run")
	o := Flags(fs, cli.EnvOr("LEDGER_ACTOR", cli.EnvOr("USER", "cli")))
	if err := e.Parse(fs, args[1:]); err != nil {
		return err
	}
	if !replay { // a replayed history's runs are dated in its past
		o.Today = domain.DateOf(time.Now())
	}
	spec, err := Spec(*o)
	if err != nil {
		return cli.Usage(err.Error())
	}
	return e.ReadWrite(o.Actor, replay, func(ledger *app.Ledger, q *query.Ledger) error {
		if err := e.CheckFilters(q, nil, query.PartyFilter{CPAM: o.CPAM}); err != nil {
			return err
		}
		rep, err := Run(e.Ctx, ledger, q, spec, o.Out, e.Log)
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(rep)
		}
		return rep.WriteText(e.Stdout)
	})
}

// importCommand records what a bank statement (camt.053.001.08) says of the
// orders: booked (paid) or returned.
func importCommand(e *cli.Env, args []string, replay bool) error {
	fs := e.Flags("pay import")
	file := fs.String("file", "", "the bank statement, camt.053.001.08 (checked against its schema first); - for standard input")
	actor := fs.String("actor", cli.EnvOr("LEDGER_ACTOR", cli.EnvOr("USER", "cli")), "who imports it (env LEDGER_ACTOR)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return cli.Usage("--file is required: the bank statement to import")
	}
	return e.ReadWrite(*actor, replay, func(ledger *app.Ledger, q *query.Ledger) error {
		rep, err := ImportFrom(e.Ctx, ledger, q, *file, e.Stdin, *actor)
		if err != nil {
			return cli.Fail(err.Error())
		}
		if e.Global.JSON {
			return e.PrintJSON(rep)
		}
		return rep.WriteText(e.Stdout)
	})
}

// Reconcile is `ledger reconcile`: a month from decision to the bank.
func Reconcile(e *cli.Env, args []string) error {
	fs := e.Flags("reconcile")
	month := fs.String("month", "", "the month, YYYY-MM")
	cpam := fs.String("cpam", "", "only the contracts of this CPAM")
	knownAt := fs.String("known-at", "", "as the ledger knew it then: a date (its end, UTC) or an RFC 3339 time")
	fromFlag := fs.String("from", "", "leave out what fell due before this date: the day the ledger took over the payments (YYYY-MM-DD)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *month == "" {
		return cli.Usage("--month is required: YYYY-MM")
	}
	var from domain.Date
	if *fromFlag != "" {
		d, err := domain.ParseDate(*fromFlag)
		if err != nil {
			return cli.Usage("--from: " + err.Error())
		}
		from = d
	}
	var w query.Window
	if *knownAt != "" {
		t, err := query.ParseKnownAt(*knownAt)
		if err != nil {
			return cli.Usage("--known-at: " + err.Error())
		}
		w.KnownAt = t
	}
	return e.Reads(func(q *query.Ledger) error {
		if err := e.CheckFilters(q, nil, query.PartyFilter{CPAM: *cpam}); err != nil {
			return err
		}
		r, err := q.Reconcile(e.Ctx, *month, *cpam, from, w)
		if err != nil {
			return err
		}
		if e.Global.JSON {
			return e.PrintJSON(r)
		}
		return WriteReconciliation(e.Stdout, r)
	})
}

// WriteReconciliation writes a month's reconciliation for a person: what
// happened in the month, where the payments due by its end stand, the
// verdict, then each payment due and not paid.
func WriteReconciliation(w io.Writer, r query.Reconciliation) error {
	who := "every CPAM"
	if r.CPAM != "" {
		who = r.CPAM
	}
	if r.From != nil {
		who += fmt.Sprintf(", payments due from %s", *r.From)
	}
	verdict := "balanced: due = paid + ordered + returned + not ordered"
	if !r.Balanced {
		verdict = "NOT BALANCED: due ≠ paid + ordered + returned + not ordered"
	}
	fmt.Fprintf(w, "%s, %s\n", r.Month, who)
	tw := textout.NewTable(w)
	fmt.Fprintln(tw, "\tDECIDED / DUE\tORDERED\tPAID\tRETURNED\tNOT ORDERED\tOUTSTANDING\t")
	fmt.Fprintf(tw, "in the month\t%12s\t%12s\t%12s\t%12s\t\t\t\n", r.DecidedInMonth, r.OrderedInMonth, r.PaidInMonth, r.ReturnedInMonth)
	fmt.Fprintf(tw, "due by its end\t%12s\t%12s\t%12s\t%12s\t%12s\t%12s\t\n", r.Due, r.Ordered, r.Paid, r.Returned, r.NotOrdered, r.Outstanding)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, verdict)
	if len(r.Differences) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = textout.NewTable(w)
	fmt.Fprintln(tw, "STATUS\tCONTRACT\tBENEFICIARY\tKIND\tYEAR\tDUE\tAMOUNT\t")
	for _, d := range r.Differences {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%12s\t\n", d.ExecutionStatus, d.ContractID, d.Beneficiary, d.Kind, d.ContractYear, d.DueOn, d.Amount)
	}
	return tw.Flush()
}

// nowFunc is the clock of the letters' "as of" line.
var nowFunc = time.Now

// optionalContract reads an optional --contract.
func optionalContract(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, cli.Usage(fmt.Sprintf("--contract %q: not a contract id (a UUID)", s))
	}
	return id, nil
}
