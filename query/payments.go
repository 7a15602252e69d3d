package query

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/projections"
)

// PayableContracts returns the contracts with a decision of a positive
// amount due on or before through: those a payment run looks at.
func (l *Ledger) PayableContracts(ctx context.Context, through domain.Date) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := l.with(ctx, func(db *projections.DB) (err error) {
		out, err = db.PayableContracts(ctx, through)
		return err
	})
	return out, err
}

// RunContracts returns the contracts a payment run ordered payments of.
func (l *Ledger) RunContracts(ctx context.Context, runID string) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := l.with(ctx, func(db *projections.DB) (err error) {
		out, err = db.RunContracts(ctx, runID)
		return err
	})
	return out, err
}

// OrderOf returns the contract and the order a transfer's end-to-end id
// names (what a bank statement quotes); ok is false when no order has it.
func (l *Ledger) OrderOf(ctx context.Context, endToEnd string) (contract, order uuid.UUID, ok bool, err error) {
	err = l.with(ctx, func(db *projections.DB) error {
		r, found, err := db.OrderOf(ctx, endToEnd)
		contract, order, ok = r.ContractID, r.OrderID, found
		return err
	})
	return contract, order, ok, err
}

// Payments returns a contract's decisions in the order they were made,
// within the window; each payment a regularisation corrects names it
// (corrected_by).
func (l *Ledger) Payments(ctx context.Context, id uuid.UUID, w Window) ([]Payment, error) {
	var out []Payment
	err := l.with(ctx, func(db *projections.DB) error {
		if _, err := db.SummaryAt(ctx, id, w); err != nil {
			// A letter of intent has its payment (its aid) too.
			if _, letter, lerr := db.LetterAt(ctx, id, w); lerr != nil || !letter {
				return err
			}
		}
		ps, err := db.Payments(ctx, id, w)
		if err != nil {
			return err
		}
		ex, err := db.Executions(ctx, id, w)
		if err != nil {
			return err
		}
		out = withExecutions(correctedBy(paymentsFrom(ps)), executions(ex))
		return nil
	})
	return out, err
}

// correctedBy names, on each payment, the regularisations of the list that
// correct it.
func correctedBy(ps []Payment) []Payment {
	index := map[uuid.UUID]int{}
	for i, p := range ps {
		index[p.PaymentID] = i
	}
	for _, p := range ps {
		for _, id := range p.Corrects {
			if i, ok := index[id]; ok {
				ps[i].CorrectedBy = append(ps[i].CorrectedBy, p.PaymentID)
			}
		}
	}
	return ps
}

// Balance is what was decided for a contract, by contract year: every
// decision (regularisations included, and shown apart), and what is still
// to recover of the negative ones once later payments offset them.
type Balance struct {
	ContractID          uuid.UUID    `json:"contract_id"`
	Scheme              string       `json:"scheme"`
	Tier                string       `json:"tier"` // empty for the assistant scheme
	Rulebook            string       `json:"rulebook"`
	DecidedTotal        domain.Money `json:"decided_total"`
	RegularisedTotal    domain.Money `json:"regularised_total"`
	OutstandingRecovery domain.Money `json:"outstanding_recovery"`
	ByYear              []YearAmount `json:"by_year"`
	AsOf                *domain.Date `json:"as_of,omitempty"`
	KnownAt             *time.Time   `json:"known_at,omitempty"`
}

// YearAmount is a contract year's decisions.
type YearAmount struct {
	ContractYear        int          `json:"contract_year"`
	Decided             domain.Money `json:"decided"`
	Regularised         domain.Money `json:"regularised"`
	OutstandingRecovery domain.Money `json:"outstanding_recovery"`
}

// Balance returns what was decided for a contract by contract year within
// the window, and what remains to recover (domain.NetOff).
func (l *Ledger) Balance(ctx context.Context, id uuid.UUID, w Window) (Balance, error) {
	var b Balance
	err := l.with(ctx, func(db *projections.DB) error {
		s, err := db.SummaryAt(ctx, id, w)
		if err != nil {
			return err
		}
		ps, err := db.Payments(ctx, id, w)
		if err != nil {
			return err
		}
		b = balanceOf(s, paymentsFrom(ps), w)
		return nil
	})
	return b, err
}

func balanceOf(s projections.SummaryRow, ps []Payment, w Window) Balance {
	b := Balance{ContractID: s.ContractID, Scheme: s.Scheme, Tier: s.Tier, Rulebook: s.Rulebook, ByYear: []YearAmount{}}
	if !w.AsOf.IsZero() {
		b.AsOf = &w.AsOf
	}
	b.KnownAt = w.KnownAtTime()
	decisions := make([]domain.PaymentDecided, len(ps))
	years := map[int]*YearAmount{}
	last := 0
	for i, p := range ps {
		decisions[i] = domain.PaymentDecided{ContractYear: p.ContractYear, Amount: p.Amount}
		y, ok := years[p.ContractYear]
		if !ok {
			y = &YearAmount{ContractYear: p.ContractYear}
			years[p.ContractYear] = y
		}
		y.Decided = y.Decided.Add(p.Amount)
		if p.Kind == domain.KindRegularisation {
			y.Regularised = y.Regularised.Add(p.Amount)
		}
		last = max(last, p.ContractYear)
	}
	_, outstanding := domain.NetOff(decisions)
	for k := 1; k <= last; k++ {
		y, ok := years[k]
		if !ok {
			continue
		}
		y.OutstandingRecovery = outstanding[k]
		b.ByYear = append(b.ByYear, *y)
		b.DecidedTotal = b.DecidedTotal.Add(y.Decided)
		b.RegularisedTotal = b.RegularisedTotal.Add(y.Regularised)
		b.OutstandingRecovery = b.OutstandingRecovery.Add(y.OutstandingRecovery)
	}
	return b
}

// ExportFilter chooses the payments exported.
type ExportFilter struct {
	Contract   uuid.UUID // zero: every contract
	PerPayment bool      // one row per payment, else one per breakdown line
}

// ExportHeader returns the CSV header of an export.
func ExportHeader(perPayment bool) []string {
	h := []string{"contract_id", "scheme", "beneficiary", "cpam", "ars", "tier", "payment_id", "kind", "contract_year", "due_on",
		"decided_on", "status", "rulebook", "aid_table"}
	if perPayment {
		return append(h, "regularises", "amount", "to_pay", "execution_status")
	}
	return append(h, "line_mission", "line_component", "line_amount", "payment_amount", "execution_status")
}

// Export calls fn with every row of the payments export within the window,
// by contract then decision order: one row per breakdown line (to sum:
// line_amount; payment_amount repeats the payment's amount on each of its
// lines), or one row per payment (to sum: amount; to_pay is what remains to
// pay once earlier recoveries are offset). money formats amounts.
func (l *Ledger) Export(ctx context.Context, f ExportFilter, w Window, money func(domain.Money) string, fn func([]string) error) error {
	return l.with(ctx, func(db *projections.DB) error {
		contracts, letterOf, err := exportParties(ctx, db, w)
		if err != nil {
			return err
		}
		if f.Contract != uuid.Nil {
			if _, ok := contracts[f.Contract]; !ok {
				return ErrUnknownContract{ID: f.Contract}
			}
		}
		ex, err := db.ExecutionsWithin(ctx, w)
		if err != nil {
			return err
		}
		status := executions(ex)
		var current []Payment
		flush := func() error {
			if len(current) == 0 {
				return nil
			}
			defer func() { current = current[:0] }()
			return exportRows(contracts[current[0].ContractID], withExecutions(current, status), f.PerPayment, money, fn)
		}
		// One contract's export shows the aid of the letter it follows
		// first, beside it.
		if letter, ok := letterOf[f.Contract]; ok && f.Contract != uuid.Nil {
			ps, err := db.Payments(ctx, letter, w)
			if err != nil {
				return err
			}
			current = paymentsFrom(ps)
			if err := flush(); err != nil {
				return err
			}
		}
		err = db.EachPayment(ctx, w, func(r projections.PaymentRow) error {
			if f.Contract != uuid.Nil && r.ContractID != f.Contract {
				return nil
			}
			p := paymentFrom(r)
			if len(current) > 0 && current[0].ContractID != p.ContractID {
				if err := flush(); err != nil {
					return err
				}
			}
			current = append(current, p)
			return nil
		})
		if err != nil {
			return err
		}
		return flush()
	})
}

// exportParties returns who each row of an export is about, by the id of
// its stream: the contracts and the letters of intent the window sees;
// and, by contract, the letter it follows.
func exportParties(ctx context.Context, db *projections.DB, w Window) (map[uuid.UUID]projections.SummaryRow, map[uuid.UUID]uuid.UUID, error) {
	contracts, letterOf := map[uuid.UUID]projections.SummaryRow{}, map[uuid.UUID]uuid.UUID{}
	cs, err := db.SummariesAt(ctx, w)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cs {
		contracts[c.ContractID] = c
	}
	ls, err := db.LettersAt(ctx, w)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range ls {
		contracts[r.LetterID] = letterSummary(r)
		if r.ContractID != uuid.Nil {
			letterOf[r.ContractID] = r.LetterID
		}
	}
	return contracts, letterOf, nil
}

// exportRows writes one contract's payments.
func exportRows(c projections.SummaryRow, ps []Payment, perPayment bool, money func(domain.Money) string, fn func([]string) error) error {
	decisions := make([]domain.PaymentDecided, len(ps))
	for i, p := range ps {
		decisions[i] = domain.PaymentDecided{ContractYear: p.ContractYear, Amount: p.Amount}
	}
	net, _ := domain.NetOff(decisions)
	for i, p := range ps {
		head := []string{p.ContractID.String(), c.Scheme, c.Name, c.CPAM, c.ARS, c.Tier, p.PaymentID.String(), p.Kind,
			fmt.Sprint(p.ContractYear), p.DueOn.String(), p.DecidedOn.String(), p.Status, p.Rulebook, p.Table}
		if perPayment {
			ids := make([]string, len(p.Corrects))
			for j, id := range p.Corrects {
				ids[j] = id.String()
			}
			if err := fn(append(head, strings.Join(ids, " "), money(p.Amount), money(net[i].ToPay), p.ExecutionStatus)); err != nil {
				return err
			}
			continue
		}
		lines := p.Lines
		if len(lines) == 0 { // a withheld advance: one row at 0.00
			lines = []Line{{Component: domain.StatusWithheld, Amount: domain.Zero}}
		}
		for _, ln := range lines {
			mission := ""
			if ln.Mission != nil {
				mission = *ln.Mission
			}
			if err := fn(append(head[:len(head):len(head)], mission, ln.Component, money(ln.Amount), money(p.Amount), p.ExecutionStatus)); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteCSV writes the payments export: what `ledger export payments` and
// GET /api/v1/exports/payments.csv print. With sep ';' (French
// spreadsheets) amounts have a decimal comma. The header is written first
// but stays buffered until rows follow, so that a failure before the first
// row (an unknown contract) leaves out untouched.
func WriteCSV(ctx context.Context, q *Ledger, out io.Writer, style CSVStyle, f ExportFilter, w Window) error {
	cw := newCSV(out, style)
	money := moneyFor(style.Sep)
	if err := cw.Write(ExportHeader(f.PerPayment)); err != nil {
		return err
	}
	if err := q.Export(ctx, f, w, money, cw.Write); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSONLines writes the payments export as JSON lines: one object a
// row, its keys the CSV's header, its values the CSV's cells (amounts as
// decimal text with a point) — for a program, where the CSV is for a
// spreadsheet.
func WriteJSONLines(ctx context.Context, q *Ledger, out io.Writer, f ExportFilter, w Window) error {
	header := ExportHeader(f.PerPayment)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	return q.Export(ctx, f, w, domain.Money.String, func(row []string) error {
		obj := make(map[string]string, len(header))
		for i, h := range header {
			obj[h] = row[i]
		}
		return enc.Encode(obj)
	})
}

// safeCSV is a CSV writer whose cells a spreadsheet cannot take for
// formulas (OWASP, CSV injection): a cell whose text starts with =, +, -,
// @, a tab or a carriage return, and is not a number, gets a leading '
// (a CPTS named =HYPERLINK(…) shows as text); amounts, negative ones
// included, stay numbers.
type safeCSV struct {
	*csv.Writer
	cells  CSVCells
	header []string
}

// CSVStyle is how a CSV is written for its reader: its separator, and
// the words of its cells. Without Cells, the columns are the stable
// machine ones (codes, ISO dates): what ledger export and the API give.
type CSVStyle struct {
	Sep   rune
	Cells CSVCells
}

// CSVCells rewrites a cell for a reader: the header's (column is the
// cell), or a row's cell of the column named. A person's spreadsheet gets
// its language's words and dates; amounts keep the separator's decimal
// mark (moneyFor).
type CSVCells func(column, cell string, header bool) string

func newCSV(out io.Writer, style CSVStyle) *safeCSV {
	cw := csv.NewWriter(out)
	cw.Comma = style.Sep
	return &safeCSV{Writer: cw, cells: style.Cells}
}

var csvNumber = regexp.MustCompile(`^[+-]?[0-9]+([.,][0-9]+)?$`)

// Write writes a row — the first is the header — each cell in the
// style's words, then made safe.
func (w *safeCSV) Write(row []string) error {
	out := make([]string, len(row))
	header := w.header == nil
	if header {
		w.header = slices.Clone(row)
	}
	for i, cell := range row {
		if w.cells != nil && i < len(w.header) {
			cell = w.cells(w.header[i], cell, header)
		}
		out[i] = SafeCell(cell)
	}
	return w.Writer.Write(out)
}

// SafeCell returns a CSV cell's text as a spreadsheet must show it: with a
// leading ' when it would otherwise be read as a formula.
func SafeCell(cell string) string {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) || csvNumber.MatchString(cell) {
		return cell
	}
	return "'" + cell
}

// moneyFor formats amounts for a CSV with the separator sep: a decimal
// comma with ';' (French spreadsheets), a point otherwise.
func moneyFor(sep rune) func(domain.Money) string {
	return func(m domain.Money) string {
		if sep == ';' {
			return strings.Replace(m.String(), ".", ",", 1)
		}
		return m.String()
	}
}

// WriteScheduleCSV writes schedule items as CSV: the console's download of
// what falls due.
func WriteScheduleCSV(out io.Writer, style CSVStyle, items []ScheduleItem) error {
	cw := newCSV(out, style)
	money := moneyFor(style.Sep)
	if err := cw.Write([]string{"due_on", "contract_id", "scheme", "name", "cpam", "kind", "contract_year", "mission", "amount", "status", "overdue"}); err != nil {
		return err
	}
	for _, it := range items {
		amount := ""
		if it.Amount != nil {
			amount = money(*it.Amount)
		}
		if err := cw.Write([]string{it.DueOn.String(), it.ContractID.String(), it.Scheme, it.CPTSName, it.CPAM, it.Kind,
			fmt.Sprint(it.ContractYear), it.Mission, amount, it.Status, fmt.Sprint(it.Overdue)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// BOM is the UTF-8 byte order mark. A CSV meant for French spreadsheets
// starts with it: without it, common spreadsheet programs read the file in
// the system's legacy code page and show "RhÃ´ne" for "Rhône".
const BOM = "\ufeff"

// DefaultBOM tells whether a CSV with the separator sep starts with a BOM
// unless asked otherwise: with ';', the French spreadsheets' separator.
func DefaultBOM(sep rune) bool { return sep == ';' }

// WriteAlertsCSV writes deadline alerts as CSV, in the order given.
func WriteAlertsCSV(out io.Writer, style CSVStyle, alerts []Alert) error {
	cw := newCSV(out, style)
	if err := cw.Write([]string{"deadline", "status", "contract_id", "name", "cpam", "ars", "mission", "kind", "months"}); err != nil {
		return err
	}
	for _, a := range alerts {
		if err := cw.Write([]string{a.Deadline.String(), a.Status, a.ContractID.String(), a.Name, a.CPAM, a.ARS, a.Mission, a.Kind,
			fmt.Sprint(a.Months)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteContractsCSV writes contracts found by a search as CSV.
func WriteContractsCSV(out io.Writer, style CSVStyle, contracts []ContractSummary) error {
	cw := newCSV(out, style)
	if err := cw.Write([]string{"contract_id", "scheme", "name", "tier", "cpam", "ars", "rulebook", "signed_on", "status", "terminated_on"}); err != nil {
		return err
	}
	for _, c := range contracts {
		terminated := ""
		if !c.TerminatedOn.IsZero() {
			terminated = c.TerminatedOn.String()
		}
		if err := cw.Write([]string{c.ContractID.String(), c.Scheme, c.Name, c.Tier, c.CPAM, c.ARS, c.Rulebook, c.SignedOn.String(),
			c.Status, terminated}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
