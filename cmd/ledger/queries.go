package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/projections"
	"github.com/google/uuid"
)

// openReadModels opens the store and the read models.
func (e *env) openReadModels() (eventstore.Store, *projections.DB, error) {
	store, err := e.openStore()
	if err != nil {
		return nil, nil, err
	}
	db, err := projections.OpenRepairing(e.ctx, filepath.Join(e.global.data, "projections.db"), func(msg string) {
		fmt.Fprintln(e.stderr, "ledger: "+msg)
	})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, db, nil
}

// readModels opens the store and the read models, and brings the read
// models up to date before a query.
func (e *env) readModels() (eventstore.Store, *projections.DB, error) {
	store, db, err := e.openReadModels()
	if err != nil {
		return nil, nil, err
	}
	if _, err := projections.NewRunner(store, db, projections.Options{Logger: e.log}).CatchUp(e.ctx); err != nil {
		db.Close()
		store.Close()
		return nil, nil, err
	}
	return store, db, nil
}

// query runs fn on the store and the read models, brought up to date, and
// closes them.
func (e *env) query(fn func(eventstore.Store, *projections.DB) error) error {
	store, db, err := e.readModels()
	if err != nil {
		return err
	}
	defer store.Close()
	defer db.Close()
	return fn(store, db)
}

// unknown turns a missing contract into a failed check (exit 1).
func unknown(err error) error {
	var u projections.ErrUnknownContract
	if errors.As(err, &u) {
		return failed{u.Error()}
	}
	return err
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func contractFlag(fs interface {
	String(string, string, string) *string
}) *string {
	return fs.String("contract", "", "contract id (UUID)")
}

func parseContract(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, usageError{"--contract is required"}
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, usageError{fmt.Sprintf("--contract %q is not a UUID", s)}
	}
	return id, nil
}

// dateWindowFlags registers --as-of (default today) and --within (days,
// not negative), and returns how to read them after parsing.
func (e *env) dateWindowFlags(fs *flag.FlagSet, asOfHelp string, defaultWithin int, withinHelp string) func() (domain.Date, int, error) {
	asOfFlag := fs.String("as-of", "", asOfHelp)
	within := fs.Int("within", defaultWithin, withinHelp+fmt.Sprintf(" (0 to %d)", maxWithinDays))
	return func() (domain.Date, int, error) {
		asOf, err := e.parseAsOf(*asOfFlag)
		if err != nil {
			return asOf, 0, err
		}
		if asOf.IsZero() {
			asOf = domain.DateOf(time.Now())
		}
		if *within < 0 || *within > maxWithinDays {
			return asOf, 0, usageError{fmt.Sprintf("--within must be 0 to %d days, got %d", maxWithinDays, *within)}
		}
		return asOf, *within, nil
	}
}

// maxWithinDays bounds a query's window: ten years.
const maxWithinDays = 3660

// parseAsOf reads a business date given to a query: a date the schemes'
// rulebooks cover, or "" (none).
func (e *env) parseAsOf(s string) (domain.Date, error) {
	if s == "" {
		return domain.Date{}, nil
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return d, usageError{"--as-of: " + err.Error()}
	}
	if dates := domain.CalendarOf(e.schemes); !dates.Contains(d) {
		return d, usageError{fmt.Sprintf("--as-of: %s is outside the dates the rulebooks cover (%s)", d, dates)}
	}
	return d, nil
}

func runPayments(e *env, args []string) error {
	fs := e.flags("payments")
	contract := contractFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	id, err := parseContract(*contract)
	if err != nil {
		return err
	}
	return e.query(func(store eventstore.Store, db *projections.DB) error {
		ps, err := db.Payments(e.ctx, id, projections.AsOf{})
		if err != nil {
			return unknown(err)
		}
		if e.global.json {
			return e.printJSON(ps)
		}
		return writePayments(e.stdout, ps)
	})
}

func writePayments(w io.Writer, ps []projections.Payment) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tYEAR\tMISSION\tDUE\tDECIDED\tSTATUS\tAMOUNT\tRULEBOOK\t")
	for _, p := range ps {
		m := ""
		if p.Mission != nil {
			m = *p.Mission
		}
		rulebook := p.Rulebook
		if p.Table != "" {
			rulebook += " (table " + p.Table + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%12s\t%s\t\n", p.Kind, p.ContractYear, m, p.DueOn, p.DecidedOn, p.Status, p.Amount, rulebook)
	}
	return tw.Flush()
}

func runBalance(e *env, args []string) error {
	fs := e.flags("balance")
	contract := contractFlag(fs)
	asOfFlag := fs.String("as-of", "", "only decisions made on or before this business date (YYYY-MM-DD)")
	knownAt := fs.String("known-at", "", "only what the ledger had recorded at this time (RFC 3339, e.g. 2024-03-01T12:00:00Z)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	id, err := parseContract(*contract)
	if err != nil {
		return err
	}
	var asOf projections.AsOf
	if asOf.BusinessDate, err = e.parseAsOf(*asOfFlag); err != nil {
		return err
	}
	if *knownAt != "" {
		if asOf.KnownAt, err = time.Parse(time.RFC3339, *knownAt); err != nil {
			return usageError{"--known-at: want a time like 2024-03-01T12:00:00Z"}
		}
	}
	return e.query(func(store eventstore.Store, db *projections.DB) error {
		b, err := db.Balance(e.ctx, id, asOf)
		if err != nil {
			return unknown(err)
		}
		if e.global.json {
			return e.printJSON(b)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		if b.Tier != "" {
			fmt.Fprintf(tw, "contract %s  %s  tier %s  rulebook %s\n", id, b.Scheme, b.Tier, b.Rulebook)
		} else {
			fmt.Fprintf(tw, "contract %s  %s  rulebook %s\n", id, b.Scheme, b.Rulebook)
		}
		fmt.Fprintln(tw, "YEAR\tDECIDED\t")
		for _, y := range b.ByYear {
			fmt.Fprintf(tw, "%d\t%12s\t\n", y.ContractYear, y.Decided)
		}
		fmt.Fprintf(tw, "total\t%12s\t\n", b.DecidedTotal)
		return tw.Flush()
	})
}

func runAlerts(e *env, args []string) error {
	fs := e.flags("alerts")
	window := e.dateWindowFlags(fs, "date of the alerts (default today)", 60, "days ahead in which a deadline is due_soon")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	asOf, within, err := window()
	if err != nil {
		return err
	}
	return e.query(func(store eventstore.Store, db *projections.DB) error {
		alerts, err := db.Alerts(e.ctx, asOf, within)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(alerts)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CONTRACT\tMISSION\tKIND\tMONTHS\tDEADLINE\tSTATUS\t")
		for _, a := range alerts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", a.ContractID, a.Mission, a.Kind, a.Months, a.Deadline, a.Status)
		}
		return tw.Flush()
	})
}

func runAudit(e *env, args []string) error {
	fs := e.flags("audit")
	contract := contractFlag(fs)
	asOfFlag := fs.String("as-of", "", "only events whose business date is on or before this date")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	id, err := parseContract(*contract)
	if err != nil {
		return err
	}
	asOf, err := e.parseAsOf(*asOfFlag)
	if err != nil {
		return err
	}
	return e.query(func(store eventstore.Store, db *projections.DB) error {
		trail, err := projections.Audit(e.ctx, store, id, asOf)
		if err != nil {
			return unknown(err)
		}
		if e.global.json {
			if err := e.printJSON(trail.Events); err != nil {
				return err
			}
		} else if err := writeAudit(e.stdout, trail.Events); err != nil {
			return err
		}
		if !trail.ChainOK {
			return failed{fmt.Sprintf("hash chain broken at revision %d (event %s): %s", trail.FirstBad.Revision, trail.FirstBad.EventID, trail.Problem)}
		}
		return nil
	})
}

func writeAudit(w io.Writer, views []projections.AuditEvent) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REV\tPOS\tTYPE\tOCCURRED\tRECORDED\tACTOR\tCOMMAND\tHASH\t")
	for _, v := range views {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s…\t\n", v.Revision, v.Position, v.Type, v.OccurredOn, v.RecordedAt[:19]+"Z", v.Actor, v.CommandID, v.Hash.String()[:16])
	}
	return tw.Flush()
}

func runExport(e *env, args []string) error {
	if len(args) == 0 || args[0] != "payments" {
		return usageError{"export what? only 'export payments' exists"}
	}
	fs := e.flags("export")
	format := fs.String("format", "csv", "output format: csv")
	sep := fs.String("sep", ",", "field separator (';' for French spreadsheets)")
	contract := fs.String("contract", "", "only this contract (default: every contract)")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if *format != "csv" {
		return usageError{fmt.Sprintf("--format %q: only csv", *format)}
	}
	if len([]rune(*sep)) != 1 {
		return usageError{"--sep must be one character"}
	}
	var only uuid.UUID
	if *contract != "" {
		id, err := parseContract(*contract)
		if err != nil {
			return err
		}
		only = id
	}
	return e.query(func(store eventstore.Store, db *projections.DB) error {
		contracts := map[uuid.UUID]projections.Summary{}
		cs, err := db.Summaries(e.ctx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			contracts[c.ContractID] = c
		}
		if only != uuid.Nil {
			if _, ok := contracts[only]; !ok {
				return failed{projections.ErrUnknownContract{ID: only}.Error()}
			}
		}
		ars := map[uuid.UUID]string{}
		cpts, err := db.Contracts(e.ctx)
		if err != nil {
			return err
		}
		for _, c := range cpts {
			ars[c.ContractID] = c.ARS
		}
		w := csv.NewWriter(e.stdout)
		w.Comma = []rune(*sep)[0]
		w.Write([]string{"contract_id", "scheme", "beneficiary", "cpam", "ars", "tier", "payment_id", "kind", "contract_year", "due_on",
			"decided_on", "status", "rulebook", "aid_table", "line_mission", "line_component", "line_amount", "payment_amount"})
		decimalComma := func(m domain.Money) string {
			if *sep == ";" { // French spreadsheets read a decimal comma
				return strings.Replace(m.String(), ".", ",", 1)
			}
			return m.String()
		}
		err = db.EachPayment(e.ctx, func(p projections.Payment) error {
			if only != uuid.Nil && p.ContractID != only {
				return nil
			}
			c := contracts[p.ContractID]
			lines := p.Lines
			if len(lines) == 0 { // a withheld advance: one row at 0.00
				lines = []projections.Line{{Component: "withheld", Amount: domain.Zero}}
			}
			for _, l := range lines {
				mission := ""
				if l.Mission != nil {
					mission = *l.Mission
				}
				w.Write([]string{p.ContractID.String(), c.Scheme, c.Name, c.CPAM, ars[p.ContractID], c.Tier, p.PaymentID.String(), p.Kind,
					fmt.Sprint(p.ContractYear), p.DueOn.String(), p.DecidedOn.String(), p.Status, p.Rulebook, p.Table, mission, l.Component,
					decimalComma(l.Amount), decimalComma(p.Amount)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	})
}
