package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// models returns the read models of the data directory; messages a user
// should see (a file rebuilt, one moved aside) go to standard error.
func (e *env) models() *projections.Set {
	return projections.NewSet(e.global.data, func(msg string) { fmt.Fprintln(e.stderr, "ledger: "+msg) })
}

// reads runs fn on the read side (the store and its read models) and
// closes it.
func (e *env) reads(fn func(*query.Ledger) error) error {
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	if err := e.guardChain(store); err != nil {
		return err
	}
	models := e.models()
	defer models.Close()
	if err := e.guardModels(models); err != nil {
		return err
	}
	return e.chainFailure("projections", unknown(fn(query.New(store, models, e.schemes))))
}

// unknown turns a missing contract into a failed check (exit 1).
func unknown(err error) error {
	if query.IsUnknown(err) {
		return failed{err.Error()}
	}
	return err
}

func (e *env) printJSON(v any) error { return query.EncodeJSON(e.stdout, v) }

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
	if err != nil || len(s) != 36 {
		return uuid.Nil, usageError{fmt.Sprintf("--contract %q is not a UUID", s)}
	}
	return id, nil
}

// windowFlags registers --as-of and --known-at, and returns how to read
// them after parsing.
// parseContractQuery parses the flags of a query on one contract
// (payments, balance, audit): --contract and the bitemporal window.
func (e *env) parseContractQuery(name string, args []string, asOfHelp string) (uuid.UUID, query.Window, error) {
	fs := e.flags(name)
	contract := contractFlag(fs)
	window := e.windowFlags(fs, asOfHelp)
	// The contract may also come first, without its flag:
	// ledger payments ID --as-of 2022-01-01.
	positional := ""
	if len(args) > 0 && args[0] != "" && !strings.HasPrefix(args[0], "-") {
		positional, args = args[0], args[1:]
	}
	if err := e.parse(fs, args); err != nil {
		return uuid.Nil, query.Window{}, err
	}
	if positional != "" {
		if *contract != "" && *contract != positional {
			return uuid.Nil, query.Window{}, usageError{"the contract is given twice (as an argument and --contract), differently"}
		}
		*contract = positional
	}
	id, err := parseContract(*contract)
	if err != nil {
		return uuid.Nil, query.Window{}, err
	}
	w, err := window()
	return id, w, err
}

func (e *env) windowFlags(fs *flag.FlagSet, asOfHelp string) func() (query.Window, error) {
	asOf := fs.String("as-of", "", asOfHelp)
	knownAt := fs.String("known-at", "", "only what the ledger had recorded by then: a date (the end of that day, UTC) or an RFC 3339 time, seconds optional (e.g. 2024-03-01T12:00:00Z); unset: now")
	return func() (query.Window, error) {
		var w query.Window
		var err error
		if w.AsOf, err = e.parseAsOf(*asOf); err != nil {
			return w, err
		}
		if *knownAt != "" {
			if w.KnownAt, err = query.ParseKnownAt(*knownAt); err != nil {
				return w, usageError{"--known-at: " + err.Error()}
			}
			w.Known = true
		}
		return w, nil
	}
}

// dateWindowFlags registers --as-of (default today), --known-at and
// --within (days), and returns how to read them after parsing.
func (e *env) dateWindowFlags(fs *flag.FlagSet, asOfHelp string, defaultWithin int, withinHelp string) func() (query.Window, int, error) {
	window := e.windowFlags(fs, asOfHelp)
	within := fs.Int("within", defaultWithin, withinHelp+fmt.Sprintf(" (0 to %d)", query.MaxWithinDays))
	return func() (query.Window, int, error) {
		w, err := window()
		if err != nil {
			return w, 0, err
		}
		if w.AsOf.IsZero() {
			w.AsOf = domain.DateOf(time.Now())
		}
		if *within < 0 || *within > query.MaxWithinDays {
			return w, 0, usageError{fmt.Sprintf("--within must be 0 to %d days, got %d", query.MaxWithinDays, *within)}
		}
		return w, *within, nil
	}
}

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
	id, w, err := e.parseContractQuery("payments", args, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		ps, err := q.Payments(e.ctx, id, w)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(ps)
		}
		return textout.Payments(e.stdout, ps)
	})
}

func runBalance(e *env, args []string) error {
	id, w, err := e.parseContractQuery("balance", args, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		b, err := q.Balance(e.ctx, id, w)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(b)
		}
		tw := textout.NewTable(e.stdout)
		if b.Tier != "" {
			fmt.Fprintf(tw, "contract %s  %s  tier %s  rulebook %s\n", id, b.Scheme, b.Tier, b.Rulebook)
		} else {
			fmt.Fprintf(tw, "contract %s  %s  rulebook %s\n", id, b.Scheme, b.Rulebook)
		}
		fmt.Fprintln(tw, "YEAR\tDECIDED\tOF WHICH REGULARISED\tTO RECOVER\t")
		for _, y := range b.ByYear {
			fmt.Fprintf(tw, "%d\t%12s\t%12s\t%12s\t\n", y.ContractYear, y.Decided, y.Regularised, y.OutstandingRecovery)
		}
		fmt.Fprintf(tw, "total\t%12s\t%12s\t%12s\t\n", b.DecidedTotal, b.RegularisedTotal, b.OutstandingRecovery)
		return tw.Flush()
	})
}

func runAlerts(e *env, args []string) error {
	fs := e.flags("alerts")
	window := e.dateWindowFlags(fs, "date of the alerts (default today)", 60, "days ahead in which a deadline is due_soon")
	status := fs.String("status", "", "only this status: "+strings.Join(query.AlertStatuses, ", ")+" (open: overdue, due_soon and pending)")
	cpam := fs.String("cpam", "", "only the contracts of this CPAM")
	ars := fs.String("ars", "", "only the contracts of this ARS")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	w, within, err := window()
	if err != nil {
		return err
	}
	if *status != "" && !slices.Contains(query.AlertStatuses, *status) {
		return usageError{fmt.Sprintf("--status %q: want one of %s", *status, strings.Join(query.AlertStatuses, ", "))}
	}
	return e.reads(func(q *query.Ledger) error {
		alerts, err := q.Alerts(e.ctx, w, within, query.AlertFilter{Status: *status, CPAM: *cpam, ARS: *ars})
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(alerts)
		}
		tw := textout.NewTable(e.stdout)
		fmt.Fprintln(tw, "CONTRACT\tMISSION\tKIND\tMONTHS\tDEADLINE\tSTATUS\t")
		for _, a := range alerts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", a.ContractID, a.Mission, a.Kind, a.Months, a.Deadline, a.Status)
		}
		return tw.Flush()
	})
}

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

func runExport(e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		args = []string{"payments", "-h"}
	}
	if len(args) == 0 || args[0] != "payments" {
		return usageError{"export what? only 'export payments' exists"}
	}
	fs := e.flags("export")
	format := fs.String("format", "csv", "output format: csv")
	sep := fs.String("sep", ",", "field separator (';' for French spreadsheets, with decimal commas)")
	per := fs.String("per", "line", "one row per breakdown line (line; sum line_amount) or per payment (payment; sum amount)")
	contract := fs.String("contract", "", "only this contract (default: every contract)")
	bom := fs.Bool("bom", false, "start with a UTF-8 byte order mark, which French spreadsheets need to read accents (default: on with --sep ';'; --bom=false leaves it out)")
	window := e.windowFlags(fs, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	bomSet := false
	fs.Visit(func(f *flag.Flag) { bomSet = bomSet || f.Name == "bom" })
	if *format != "csv" {
		return usageError{fmt.Sprintf("--format %q: only csv", *format)}
	}
	if len([]rune(*sep)) != 1 {
		return usageError{"--sep must be one character"}
	}
	if *per != "line" && *per != "payment" {
		return usageError{fmt.Sprintf("--per %q: want line or payment", *per)}
	}
	f := query.ExportFilter{PerPayment: *per == "payment"}
	if *contract != "" {
		id, err := parseContract(*contract)
		if err != nil {
			return err
		}
		f.Contract = id
	}
	w, err := window()
	if err != nil {
		return err
	}
	if !bomSet {
		*bom = query.DefaultBOM([]rune(*sep)[0])
	}
	return e.reads(func(q *query.Ledger) error {
		if *bom {
			if _, err := io.WriteString(e.stdout, query.BOM); err != nil {
				return err
			}
		}
		return query.WriteCSV(e.ctx, q, e.stdout, []rune(*sep)[0], f, w)
	})
}

func runContracts(e *env, args []string) error {
	fs := e.flags("contracts")
	s := query.ContractSearch{}
	fs.StringVar(&s.Q, "q", "", "a part of the name (any case), or the start of the id")
	fs.StringVar(&s.CPAM, "cpam", "", "only the contracts of this CPAM (as the contracts name it; a wrong name lists the known ones)")
	fs.StringVar(&s.ARS, "ars", "", "only the contracts of this ARS")
	fs.StringVar(&s.Tier, "tier", "", "only this tier: T1, T2, T3 or T4")
	fs.StringVar(&s.Scheme, "scheme", "", "only this scheme: cpts or assistant")
	fs.StringVar(&s.Status, "status", "", "live or terminated")
	fs.IntVar(&s.Limit, "limit", query.DefaultPage, fmt.Sprintf("contracts per page (1 to %d)", query.MaxPage))
	fs.StringVar(&s.Cursor, "cursor", "", "the next_cursor of the previous page")
	window := e.windowFlags(fs, "the contracts as of this date: signed by then, terminated by then (default: now)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	var err error
	if s.Window, err = window(); err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		if vs := q.Check(s); len(vs) > 0 {
			return usageError{vs.Err().Error()}
		}
		page, err := q.SearchContracts(e.ctx, s)
		if err != nil {
			return err
		}
		if len(page.Contracts) == 0 && (s.CPAM != "" || s.ARS != "") {
			if err := knownParty(e, q, s); err != nil {
				return err
			}
		}
		if e.global.json {
			return e.printJSON(page)
		}
		tw := textout.NewTable(e.stdout)
		fmt.Fprintln(tw, "ID\tNAME\tSCHEME\tTIER\tCPAM\tARS\tSIGNED\tSTATUS")
		for _, c := range page.Contracts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ContractID, c.Name, c.Scheme, c.Tier, c.CPAM, c.ARS, c.SignedOn, c.Status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%s found", textout.Plural(len(page.Contracts), "contract"))
		if page.NextCursor != "" {
			fmt.Fprintf(e.stderr, "; more with --cursor %s", page.NextCursor)
		}
		fmt.Fprintln(e.stderr)
		return nil
	})
}

// knownParty refuses a CPAM or an ARS no contract names, listing the
// known ones: "Loiret" is not "CPAM du Loiret".
func knownParty(e *env, q *query.Ledger, s query.ContractSearch) error {
	cpams, arss, err := q.Parties(e.ctx)
	if err != nil {
		return err
	}
	if s.CPAM != "" && !slices.Contains(cpams, s.CPAM) {
		return usageError{fmt.Sprintf("--cpam %q: no contract names this CPAM; known: %s", s.CPAM, strings.Join(cpams, ", "))}
	}
	if s.ARS != "" && !slices.Contains(arss, s.ARS) {
		return usageError{fmt.Sprintf("--ars %q: no contract names this ARS; known: %s", s.ARS, strings.Join(arss, ", "))}
	}
	return nil
}

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
		return textout.Contract(e.stdout, d, b, w)
	})
}
