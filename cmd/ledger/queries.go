package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// The JSON shapes of design.md section 6 (fields may be added, never
// changed).

type paymentView struct {
	PaymentID    uuid.UUID    `json:"payment_id"`
	Kind         string       `json:"kind"`
	ContractYear int          `json:"contract_year"`
	Mission      *string      `json:"mission,omitempty"`
	DueOn        domain.Date  `json:"due_on"`
	DecidedOn    domain.Date  `json:"decided_on"`
	Status       string       `json:"status"`
	Amount       domain.Money `json:"amount"`
	Rulebook     string       `json:"rulebook"`
	Rule         string       `json:"rule"`
	Lines        []lineView   `json:"lines"`
	Reason       string       `json:"reason,omitempty"`
}

type lineView struct {
	Mission   *string      `json:"mission"`
	Component string       `json:"component"`
	Amount    domain.Money `json:"amount"`
	Basis     string       `json:"basis,omitempty"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func viewPayment(p cpts.PaymentDecided) paymentView {
	v := paymentView{PaymentID: p.PaymentID, Kind: p.Kind, ContractYear: p.ContractYear, Mission: optional(p.Mission),
		DueOn: p.DueOn, DecidedOn: p.DecidedOn, Status: p.Status, Amount: p.Amount, Rulebook: p.Rulebook,
		Rule: p.Rule, Reason: p.Reason, Lines: []lineView{}}
	for _, l := range p.Lines {
		v.Lines = append(v.Lines, lineView{Mission: optional(l.Mission), Component: l.Component, Amount: l.Amount, Basis: l.Basis})
	}
	return v
}

type balanceView struct {
	ContractID   uuid.UUID    `json:"contract_id"`
	Tier         string       `json:"tier"`
	Rulebook     string       `json:"rulebook"`
	DecidedTotal domain.Money `json:"decided_total"`
	ByYear       []yearView   `json:"by_year"`
	AsOf         *domain.Date `json:"as_of,omitempty"`
}

type yearView struct {
	ContractYear int          `json:"contract_year"`
	Decided      domain.Money `json:"decided"`
}

type auditView struct {
	Revision   uint64          `json:"revision"`
	Position   uint64          `json:"position"`
	EventID    uuid.UUID       `json:"event_id"`
	Type       string          `json:"type"`
	OccurredOn string          `json:"occurred_on"`
	RecordedAt string          `json:"recorded_at"`
	Actor      string          `json:"actor"`
	CommandID  string          `json:"command_id"`
	PrevHash   eventstore.Hash `json:"prev_hash"`
	Hash       eventstore.Hash `json:"hash"`
	Data       json.RawMessage `json:"data"`
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

func parseAsOf(s string) (domain.Date, error) {
	if s == "" {
		return domain.Date{}, nil
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return d, usageError{"--as-of: " + err.Error()}
	}
	return d, nil
}

// loadContract folds one contract, keeping events with a business date on
// or before asOf (all when asOf is zero).
func (e *env) loadContract(store eventstore.Store, id uuid.UUID, asOf domain.Date) (*cpts.Contract, error) {
	var keep func(eventstore.Envelope) bool
	if !asOf.IsZero() {
		keep = func(env eventstore.Envelope) bool { return env.OccurredOn <= asOf.String() }
	}
	c, err := app.Contract(e.ctx, store, id, keep)
	if err != nil {
		return nil, err
	}
	if !c.Signed {
		return nil, failed{fmt.Sprintf("no contract %s in the ledger", id)}
	}
	return c, nil
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
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := e.loadContract(store, id, domain.Date{})
	if err != nil {
		return err
	}
	views := make([]paymentView, 0, len(c.Payments))
	for _, p := range c.Payments {
		views = append(views, viewPayment(p))
	}
	if e.global.json {
		return e.printJSON(views)
	}
	return writePayments(e.stdout, views)
}

func writePayments(w io.Writer, views []paymentView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tYEAR\tMISSION\tDUE\tDECIDED\tSTATUS\tAMOUNT\tRULEBOOK\t")
	for _, v := range views {
		m := ""
		if v.Mission != nil {
			m = *v.Mission
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%12s\t%s\t\n", v.Kind, v.ContractYear, m, v.DueOn, v.DecidedOn, v.Status, v.Amount, v.Rulebook)
	}
	return tw.Flush()
}

func runBalance(e *env, args []string) error {
	fs := e.flags("balance")
	contract := contractFlag(fs)
	asOfFlag := fs.String("as-of", "", "only decisions made on or before this date (YYYY-MM-DD)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	id, err := parseContract(*contract)
	if err != nil {
		return err
	}
	asOf, err := parseAsOf(*asOfFlag)
	if err != nil {
		return err
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := e.loadContract(store, id, asOf)
	if err != nil {
		return err
	}
	v := balanceView{ContractID: id, Tier: c.Terms.Tier, Rulebook: c.Terms.Rulebook, ByYear: []yearView{}}
	if !asOf.IsZero() {
		v.AsOf = &asOf
	}
	for k := 1; k <= c.Years.Count; k++ {
		var sum domain.Money
		any := false
		for _, p := range c.Payments {
			if p.ContractYear == k {
				sum, any = sum.Add(p.Amount), true
			}
		}
		if any {
			v.ByYear = append(v.ByYear, yearView{k, sum})
			v.DecidedTotal = v.DecidedTotal.Add(sum)
		}
	}
	if e.global.json {
		return e.printJSON(v)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "contract %s  tier %s  rulebook %s\n", id, v.Tier, v.Rulebook)
	fmt.Fprintln(tw, "YEAR\tDECIDED\t")
	for _, y := range v.ByYear {
		fmt.Fprintf(tw, "%d\t%12s\t\n", y.ContractYear, y.Decided)
	}
	fmt.Fprintf(tw, "total\t%12s\t\n", v.DecidedTotal)
	return tw.Flush()
}

func runAlerts(e *env, args []string) error {
	fs := e.flags("alerts")
	asOfFlag := fs.String("as-of", "", "date of the alerts (default today)")
	within := fs.Int("within", 60, "days ahead in which a deadline is due_soon")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	asOf, err := parseAsOf(*asOfFlag)
	if err != nil {
		return err
	}
	if asOf.IsZero() {
		asOf = domain.DateOf(time.Now())
	}
	if *within < 0 {
		return usageError{"--within must be 0 or more days"}
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	contracts, err := app.Contracts(e.ctx, store, nil)
	if err != nil {
		return err
	}
	alerts := alertsOf(contracts, asOf, *within)
	if e.global.json {
		return e.printJSON(alerts)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTRACT\tMISSION\tKIND\tMONTHS\tDEADLINE\tSTATUS\t")
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", a.ContractID, a.Mission, a.Kind, a.Months, a.Deadline, a.Status)
	}
	return tw.Flush()
}

func alertsOf(contracts map[uuid.UUID]*cpts.Contract, asOf domain.Date, within int) []cpts.Alert {
	alerts := []cpts.Alert{}
	for _, c := range contracts {
		alerts = append(alerts, c.Alerts(asOf, within)...)
	}
	slices.SortStableFunc(alerts, func(a, b cpts.Alert) int {
		if c := a.Deadline.Compare(b.Deadline); c != 0 {
			return c
		}
		return strings.Compare(a.ContractID.String()+a.Mission+a.Kind, b.ContractID.String()+b.Mission+b.Kind)
	})
	return alerts
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
	asOf, err := parseAsOf(*asOfFlag)
	if err != nil {
		return err
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	views, err := auditTrail(e, store, id, asOf)
	if err != nil {
		return err
	}
	if e.global.json {
		return e.printJSON(views)
	}
	return writeAudit(e.stdout, views)
}

func auditTrail(e *env, store eventstore.Store, id uuid.UUID, asOf domain.Date) ([]auditView, error) {
	views := []auditView{}
	var prev eventstore.Hash
	err := app.ReadStream(e.ctx, store, cpts.Stream(id), func(env eventstore.Envelope, _ cpts.Event) error {
		// The chain is checked on the whole stream, before filtering.
		if env.PrevHash != prev || eventstore.ComputeHash(env.PrevHash, &env) != env.Hash {
			return fmt.Errorf("hash chain broken at revision %d (event %s)", env.Revision, env.EventID)
		}
		prev = env.Hash
		if !asOf.IsZero() && env.OccurredOn > asOf.String() {
			return nil
		}
		views = append(views, auditView{Revision: env.Revision, Position: uint64(env.Position), EventID: env.EventID,
			Type: env.Type, OccurredOn: env.OccurredOn, RecordedAt: env.RecordedAt.Format(eventstore.RecordedAtFormat),
			Actor: env.Actor, CommandID: env.CommandID, PrevHash: env.PrevHash, Hash: env.Hash, Data: env.Data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return views, nil
}

func writeAudit(w io.Writer, views []auditView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REV\tPOS\tTYPE\tOCCURRED\tRECORDED\tACTOR\tCOMMAND\tHASH\t")
	for _, v := range views {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s…\t\n", v.Revision, v.Position, v.Type, v.OccurredOn, v.RecordedAt[:19]+"Z", v.Actor, v.CommandID, v.Hash.String()[:16])
	}
	return tw.Flush()
}

func runVerify(e *env, args []string) error {
	if err := e.parse(e.flags("verify"), args); err != nil {
		return err
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := eventstore.Verify(e.ctx, store)
	var ce *eventstore.CorruptionError
	if errors.As(err, &ce) {
		if e.global.json {
			e.printJSON(map[string]any{"ok": false, "stream": ce.Stream, "revision": ce.Revision, "position": ce.Position, "event_id": ce.EventID, "reason": ce.Reason})
		}
		return failed{fmt.Sprintf("FAILED: first bad event: stream %s revision %d position %d event %s: %s", ce.Stream, ce.Revision, ce.Position, ce.EventID, ce.Reason)}
	}
	if err != nil {
		return err
	}
	if e.global.json {
		return e.printJSON(map[string]any{"ok": true, "events": rep.Events, "streams": rep.Streams, "head": rep.Head})
	}
	fmt.Fprintf(e.stdout, "ok: %d events in %d streams verified, head position %d\n", rep.Events, rep.Streams, rep.Head)
	return nil
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
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	contracts := map[uuid.UUID]*cpts.Contract{}
	if *contract != "" {
		id, err := parseContract(*contract)
		if err != nil {
			return err
		}
		c, err := e.loadContract(store, id, domain.Date{})
		if err != nil {
			return err
		}
		contracts[id] = c
	} else if contracts, err = app.Contracts(e.ctx, store, nil); err != nil {
		return err
	}
	w := csv.NewWriter(e.stdout)
	w.Comma = []rune(*sep)[0]
	w.Write([]string{"contract_id", "cpts", "cpam", "ars", "tier", "payment_id", "kind", "contract_year", "due_on", "decided_on",
		"status", "rulebook", "line_mission", "line_component", "line_amount", "payment_amount"})
	ids := make([]uuid.UUID, 0, len(contracts))
	for id := range contracts {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	for _, id := range ids {
		c := contracts[id]
		for _, p := range c.Payments {
			lines := p.Lines
			if len(lines) == 0 { // a withheld advance: one row at 0.00
				lines = []cpts.Line{{Component: "withheld", Amount: domain.Zero}}
			}
			for _, l := range lines {
				amount, total := l.Amount.String(), p.Amount.String()
				if *sep == ";" { // French spreadsheets read a decimal comma
					amount, total = strings.Replace(amount, ".", ",", 1), strings.Replace(total, ".", ",", 1)
				}
				w.Write([]string{id.String(), c.Terms.CPTS.Name, c.Terms.CPAM, c.Terms.ARS, c.Terms.Tier, p.PaymentID.String(),
					p.Kind, fmt.Sprint(p.ContractYear), p.DueOn.String(), p.DecidedOn.String(), p.Status, p.Rulebook,
					l.Mission, l.Component, amount, total})
			}
		}
	}
	w.Flush()
	return w.Error()
}
