// Package payrun is a payment run from the outside: which contracts to
// look at (the read side), the orders recorded (the command path, one
// OrderPayments per contract), and the pain.001 file the bank takes,
// written whole or not at all. The rules — what is due, what is blocked,
// which account — are the domain's.
package payrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/atomicfile"
	"github.com/cptsledger/ledger/internal/sepa"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// Options are a run's parameters as typed (dates YYYY-MM-DD).
type Options struct {
	RunID, From, Through, ExecutionDate, CPAM, Out, Actor string
	// Today is the day the ledger records the run: the default execution
	// date, and part of the default run id.
	Today domain.Date
}

// Flags declares the run's options on fs (ledger pay run).
func Flags(fs *flag.FlagSet, actor string) *Options {
	o := &Options{}
	fs.StringVar(&o.Through, "through", "", "pay what falls due on or before this date (YYYY-MM-DD)")
	fs.StringVar(&o.From, "from", "", "leave out what fell due before this date: the day the ledger took over the payments (YYYY-MM-DD)")
	fs.StringVar(&o.ExecutionDate, "execution-date", "", "the day the bank executes the transfers (default today)")
	fs.StringVar(&o.CPAM, "cpam", "", "only the contracts of this CPAM")
	fs.StringVar(&o.RunID, "run", "", "the run's id (default: from the day and the options, so that the same run typed again records nothing twice)")
	fs.StringVar(&o.Out, "out", "", "the pain.001.001.09 file to write (replaced whole)")
	fs.StringVar(&o.Actor, "actor", actor, "who runs the payments (env LEDGER_ACTOR)")
	return o
}

// Report is what a run did, as `ledger pay run --json` prints it.
type Report struct {
	RunID         string       `json:"run_id"`
	From          *domain.Date `json:"from,omitempty"`
	Through       domain.Date  `json:"through"`
	ExecutionDate domain.Date  `json:"execution_date"`
	File          string       `json:"file,omitempty"`
	Orders        int          `json:"orders"`
	Total         domain.Money `json:"total"`
	Batches       []Batch      `json:"batches"`
	Blocked       []Blocked    `json:"blocked"`
	// Notices are the overpayment notices the run sent (ledger
	// overpayments --notice REF prints each one's letter).
	Notices []Notice `json:"notices"`
}

// Notice is an overpayment notice a run sent.
type Notice struct {
	ContractID uuid.UUID    `json:"contract_id"`
	Reference  string       `json:"reference"`
	Amount     domain.Money `json:"amount"`
	NoticeOn   domain.Date  `json:"notice_on"`
	Deadline   domain.Date  `json:"deadline"`
}

// Batch is one payer account's orders (one PmtInf of the file).
type Batch struct {
	CPAM   string       `json:"cpam"`
	Orders int          `json:"orders"`
	Total  domain.Money `json:"total"`
}

// Blocked is a payment due that the run did not order.
type Blocked struct {
	ContractID   uuid.UUID    `json:"contract_id"`
	CPAM         string       `json:"cpam"`
	PaymentID    uuid.UUID    `json:"payment_id"`
	Kind         string       `json:"kind"`
	ContractYear int          `json:"contract_year"`
	DueOn        domain.Date  `json:"due_on"`
	Amount       domain.Money `json:"amount"`
	Code         string       `json:"code"`
	Reason       string       `json:"reason"`
}

// runIDPattern is what a run id may hold: it is the file's message id, in
// the SEPA character set, with room for a batch number after it.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,29}$`)

// Spec checks the options and returns the run's parameters; an error
// names the option and what it takes.
func Spec(o Options) (app.RunSpec, error) {
	spec := app.RunSpec{CPAM: o.CPAM, Actor: o.Actor, ExecutionDate: o.Today}
	var err error
	if o.Through == "" {
		return spec, fmt.Errorf("through is required (--through): the last due date the run pays, YYYY-MM-DD")
	}
	if spec.Through, err = domain.ParseDate(o.Through); err != nil {
		return spec, fmt.Errorf("through: %v", err)
	}
	if o.From != "" {
		if spec.From, err = domain.ParseDate(o.From); err != nil {
			return spec, fmt.Errorf("from: %v", err)
		}
		if spec.From.After(spec.Through) {
			return spec, fmt.Errorf("from %s is after through %s: the run would pay nothing", spec.From, spec.Through)
		}
	}
	if o.ExecutionDate != "" {
		if spec.ExecutionDate, err = domain.ParseDate(o.ExecutionDate); err != nil {
			return spec, fmt.Errorf("execution_date: %v", err)
		}
	}
	if spec.ExecutionDate.IsZero() {
		return spec, fmt.Errorf("execution_date is required here (--execution-date): the day the bank executes the transfers, YYYY-MM-DD")
	}
	if !o.Today.IsZero() && spec.ExecutionDate.Before(o.Today) {
		return spec, fmt.Errorf("execution_date %s is before today, %s: a bank executes no transfer in the past", spec.ExecutionDate, o.Today)
	}
	spec.RunID = o.RunID
	if spec.RunID == "" {
		// The same run typed again the same day is the same run: its
		// orders are found, not recorded twice.
		sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%s", spec.From, spec.Through, spec.ExecutionDate, strings.ToLower(o.CPAM)))
		day := o.Today
		if day.IsZero() {
			day = spec.ExecutionDate
		}
		spec.RunID = "R" + strings.ReplaceAll(day.String(), "-", "") + "-" + hex.EncodeToString(sum[:4])
	}
	if !runIDPattern.MatchString(spec.RunID) {
		return spec, fmt.Errorf("run id %q: a run id is 1 to 30 letters, digits and dashes, starting with a letter or digit (it is the file's message id)", spec.RunID)
	}
	return spec, nil
}

// Run looks for the contracts with payments due, records the run's orders
// and, when out is given and something is ordered, writes the pain.001
// file (mode 0600, replaced whole). Run again, the same run rewrites the
// same file.
func Run(ctx context.Context, ledger *app.Ledger, q *query.Ledger, spec app.RunSpec, out string, log *slog.Logger) (Report, error) {
	if log != nil {
		spec.Ordered = func(contract uuid.UUID, orders int) {
			log.Debug("payment run: orders recorded", "run", spec.RunID, "contract", contract, "orders", orders)
		}
	}
	rep := Report{RunID: spec.RunID, Through: spec.Through, ExecutionDate: spec.ExecutionDate, Total: domain.Zero, Batches: []Batch{}, Blocked: []Blocked{},
		Notices: []Notice{}}
	if !spec.From.IsZero() {
		rep.From = &spec.From
	}
	ids, err := q.PayableContracts(ctx, spec.Through)
	if err != nil {
		return rep, err
	}
	res, err := ledger.PaymentRun(ctx, spec, ids)
	if err != nil {
		return rep, err
	}
	for _, b := range res.Blocked {
		p := b.Payment
		rep.Blocked = append(rep.Blocked, Blocked{ContractID: b.ContractID, CPAM: b.CPAM, PaymentID: p.PaymentID, Kind: p.Kind,
			ContractYear: p.ContractYear, DueOn: p.DueOn, Amount: p.Amount, Code: b.Code, Reason: b.Reason})
	}
	for _, n := range res.Notices {
		rep.Notices = append(rep.Notices, Notice{ContractID: n.ContractID, Reference: n.Reference, Amount: n.Amount, NoticeOn: n.NoticeOn, Deadline: n.Deadline})
	}
	init, batches := Initiation(spec.RunID, res)
	for _, b := range batches {
		rep.Batches = append(rep.Batches, b)
		rep.Orders += b.Orders
		rep.Total = rep.Total.Add(b.Total)
	}
	if out == "" || len(init.Batches) == 0 {
		return rep, nil
	}
	var buf bytes.Buffer
	if err := sepa.WritePain001(&buf, init); err != nil {
		return rep, err
	}
	if err := atomicfile.Write(out, buf.Bytes()); err != nil {
		return rep, err
	}
	rep.File = out
	return rep, nil
}

// ErrNoRun: no payment run of that id ordered a transfer.
var ErrNoRun = errors.New("no payment run of that id ordered a transfer")

// File writes a run's pain.001 file again, from the orders it recorded:
// the same bytes the run wrote.
func File(ctx context.Context, ledger *app.Ledger, q *query.Ledger, runID string) ([]byte, error) {
	ids, err := q.RunContracts(ctx, runID)
	if err != nil {
		return nil, err
	}
	res, err := ledger.CollectRun(ctx, runID, ids)
	if err != nil {
		return nil, err
	}
	init, _ := Initiation(runID, res)
	if len(init.Batches) == 0 {
		return nil, ErrNoRun
	}
	var buf bytes.Buffer
	if err := sepa.WritePain001(&buf, init); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Initiation lays a run's orders out as a pain.001 message: one batch per
// payer account and execution date, orders in contract then order id
// order, the message dated when the run's first order was recorded (so
// that the same run gives the same file).
func Initiation(runID string, res app.RunResult) (sepa.Initiation, []Batch) {
	orders := slices.Clone(res.Orders)
	slices.SortFunc(orders, func(a, b app.RunOrder) int {
		return strings.Compare(a.Payer.IBAN+a.ExecutionDate.String()+a.ContractID.String()+a.OrderID.String(),
			b.Payer.IBAN+b.ExecutionDate.String()+b.ContractID.String()+b.OrderID.String())
	})
	init := sepa.Initiation{MessageID: runID, Initiator: "Assurance Maladie"}
	var batches []Batch
	for _, o := range orders {
		if init.Created.IsZero() || o.RecordedAt.Before(init.Created) {
			init.Created = o.RecordedAt
		}
		if o.Amount.IsZero() {
			continue // taken whole by an offset: nothing to send
		}
		n := len(init.Batches)
		if n == 0 || init.Batches[n-1].Debtor.IBAN != o.Payer.IBAN || init.Batches[n-1].ExecutionDate != o.ExecutionDate {
			init.Batches = append(init.Batches, sepa.Batch{ID: fmt.Sprintf("%s-%d", runID, n+1), ExecutionDate: o.ExecutionDate,
				Debtor: sepa.Party{Name: o.Payer.Name, IBAN: o.Payer.IBAN, BIC: o.Payer.BIC}})
			batches = append(batches, Batch{CPAM: o.CPAM, Total: domain.Zero})
			n++
		}
		batches[n-1].Orders++
		batches[n-1].Total = batches[n-1].Total.Add(o.Amount)
		init.Batches[n-1].Transfers = append(init.Batches[n-1].Transfers, sepa.Transfer{EndToEndID: o.EndToEndID(), Amount: o.Amount,
			Creditor: sepa.Party{Name: o.Holder, IBAN: o.IBAN, BIC: o.BIC}, Remittance: Remittance(o)})
	}
	return init, batches
}

// Remittance is the text a transfer carries to its beneficiary: the
// scheme, the rulebook, the contract, the kind of payment and its
// contract year (at most 140 characters in the SEPA set).
func Remittance(o app.RunOrder) string {
	scheme := map[string]string{"cpts": "ACI CPTS", "assistant": "Aide assistant medical"}[o.Scheme]
	text := fmt.Sprintf("%s %s contrat %s %s annee %d", scheme, o.Rulebook, o.ContractID, strings.ReplaceAll(o.Kind, "_", " "), o.ContractYear)
	for _, off := range o.Offsets {
		text += fmt.Sprintf(" retenue %s %s", off.Reference, off.Amount)
	}
	return sepa.Text(text, 140)
}

// WriteText writes the report for a person: the run, one line per batch,
// then each payment blocked and why.
func (r Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "run %s: %d orders, %s, through %s, executed on %s", r.RunID, r.Orders, r.Total, r.Through, r.ExecutionDate)
	if r.File != "" {
		fmt.Fprintf(w, " (%s)", r.File)
	}
	fmt.Fprintln(w)
	tw := textout.NewTable(w)
	if len(r.Batches) > 0 {
		fmt.Fprintln(tw, "PAYER\tORDERS\tTOTAL\t")
		for _, b := range r.Batches {
			fmt.Fprintf(tw, "%s\t%d\t%12s\t\n", b.CPAM, b.Orders, b.Total)
		}
	}
	if len(r.Notices) > 0 {
		fmt.Fprintln(tw, "\t\t\t\t\t")
		fmt.Fprintln(tw, "NOTICE\tCONTRACT\tAMOUNT\tSENT\tDEADLINE\t")
		for _, n := range r.Notices {
			fmt.Fprintf(tw, "%s\t%s\t%12s\t%s\t%s\t\n", n.Reference, n.ContractID, n.Amount, n.NoticeOn, n.Deadline)
		}
	}
	if len(r.Blocked) > 0 {
		fmt.Fprintln(tw, "\t\t\t\t\t\t\t")
		fmt.Fprintln(tw, "BLOCKED\tCONTRACT\tKIND\tYEAR\tDUE\tAMOUNT\tREASON\t")
		for _, b := range r.Blocked {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%12s\t%s\t\n", b.Code, b.ContractID, b.Kind, b.ContractYear, b.DueOn, b.Amount, b.Reason)
		}
	}
	return tw.Flush()
}
