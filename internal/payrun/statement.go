package payrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/sepa"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// InvalidStatementError is a statement refused whole: it does not pass
// its schema, or its content cannot be read; nothing was recorded.
type InvalidStatementError struct{ Err error }

func (e *InvalidStatementError) Error() string { return e.Err.Error() }
func (e *InvalidStatementError) Unwrap() error { return e.Err }

// MaxStatementBytes bounds a statement file: a month of a CPAM's
// transfers is a few megabytes.
const MaxStatementBytes = 64 << 20

// Line is one transaction of a statement and what the import did with it.
type Line struct {
	Statement  string       `json:"statement"`
	Index      string       `json:"entry"`
	Credit     bool         `json:"credit"`
	Amount     domain.Money `json:"amount"`
	BookedOn   domain.Date  `json:"booked_on"`
	EndToEndID string       `json:"end_to_end_id,omitempty"`
	ContractID *uuid.UUID   `json:"contract_id,omitempty"`
	// Outcome: settled, returned, repaid (a credit quoting a notice),
	// repeated (recorded by an earlier
	// import), refused (the ledger's rules; Code says which), unknown (no
	// order has this end-to-end id), pending (not booked yet: nothing
	// recorded), unrecognised (neither a transfer of an order nor its
	// return).
	Outcome string `json:"outcome"`
	Code    string `json:"code,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// ImportReport is what an import did, as `ledger pay import --json` prints
// it: the counts, then every line that was not recorded anew.
type ImportReport struct {
	File     string         `json:"file"`
	Counts   map[string]int `json:"counts"`
	Reported []Line         `json:"reported"`
}

// Import reads a camt.053.001.08 statement — checked against its schema
// before anything is read from it — and records, through the command
// path, each booked debit whose end-to-end id is an order's
// (SettlePayment) and each credit returning one (ReturnPayment). Each line
// is one command whose id the statement and the line make: importing the
// same statement again records nothing new. Nothing is guessed: an
// amount other than the order's, an unknown id or a line of another kind
// is reported.
func Import(ctx context.Context, ledger *app.Ledger, q *query.Ledger, file, actor string) (ImportReport, error) {
	return ImportFrom(ctx, ledger, q, file, nil, actor)
}

// ImportFrom is Import where file "-" is stdin.
func ImportFrom(ctx context.Context, ledger *app.Ledger, q *query.Ledger, file string, stdin io.Reader, actor string) (ImportReport, error) {
	if file == "-" && stdin == nil {
		return ImportReport{File: file, Counts: map[string]int{}, Reported: []Line{}}, fmt.Errorf("no standard input to read the statement from")
	}
	doc, err := readStatement(file, stdin)
	name := file
	if file == "-" {
		name = "standard input"
	}
	if err != nil {
		return ImportReport{File: name, Counts: map[string]int{}, Reported: []Line{}}, err
	}
	return ImportDocument(ctx, ledger, q, name, doc, actor)
}

// ImportDocument is Import of a statement read already (name says where
// from: a file, an upload).
func ImportDocument(ctx context.Context, ledger *app.Ledger, q *query.Ledger, name string, doc []byte, actor string) (ImportReport, error) {
	rep := ImportReport{File: name, Counts: map[string]int{}, Reported: []Line{}}
	entries, err := sepa.ReadCamt053(doc)
	if err != nil {
		return rep, &InvalidStatementError{Err: err}
	}
	for _, e := range entries {
		l, err := importLine(ctx, ledger, q, e, actor)
		if err != nil {
			return rep, err
		}
		rep.Counts[l.Outcome]++
		if l.Outcome != "settled" && l.Outcome != "returned" && l.Outcome != "repaid" {
			rep.Reported = append(rep.Reported, l)
		}
	}
	return rep, nil
}

func readStatement(file string, stdin io.Reader) ([]byte, error) {
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	doc, err := io.ReadAll(io.LimitReader(in, MaxStatementBytes+1))
	if err == nil && len(doc) > MaxStatementBytes {
		err = fmt.Errorf("%s is more than %d bytes: a statement file is at most that", file, MaxStatementBytes)
	}
	return doc, err
}

func importLine(ctx context.Context, ledger *app.Ledger, q *query.Ledger, e sepa.Entry, actor string) (Line, error) {
	l := Line{Statement: e.Statement, Index: e.Index, Credit: e.Credit, Amount: e.Amount, BookedOn: e.BookedOn, EndToEndID: e.EndToEndID}
	typ := domain.CmdSettlePayment
	switch {
	case !e.Booked:
		l.Outcome, l.Detail = "pending", "not booked yet: nothing is recorded before the bank books it"
		return l, nil
	case e.Currency != "EUR":
		l.Outcome, l.Detail = "unrecognised", "an entry in "+e.Currency+": the ledger's transfers are in euros"
		return l, nil
	case e.Credit && e.ReturnReason != "":
		typ = domain.CmdReturnPayment
	case e.Credit:
		return importRepayment(ctx, ledger, q, e, actor, l)
	case e.ReturnReason != "":
		l.Outcome, l.Detail = "unrecognised", "a debit with return information"
		return l, nil
	}
	if e.EndToEndID == "" {
		l.Outcome, l.Detail = "unknown", "no end-to-end id: the entry names no order"
		return l, nil
	}
	contract, order, ok, err := q.OrderOf(ctx, e.EndToEndID)
	if err != nil || !ok {
		l.Outcome, l.Detail = "unknown", "no order of the ledger has this end-to-end id"
		return l, err
	}
	l.ContractID = &contract
	fields := map[string]any{"type": typ, "contract_id": contract, "order": order}
	outcome := "settled"
	if typ == domain.CmdReturnPayment {
		fields["reason_code"], outcome = e.ReturnReason, "returned"
	}
	return submitEntry(ctx, ledger, actor, e, fields, outcome, l)
}

// submitEntry records what a statement's line says, through the command
// path: the command of fields with what every bank entry carries, its id
// the statement's message, the statement and the line (the same line
// imported again is a duplicate). The line's outcome is done, repeated or
// refused.
func submitEntry(ctx context.Context, ledger *app.Ledger, actor string, e sepa.Entry, fields map[string]any, done string, l Line) (Line, error) {
	fields["command_id"] = "camt/" + e.Message + "/" + e.Statement + "/" + e.Index
	fields["booked_on"], fields["amount"], fields["bank_reference"], fields["statement"] = e.BookedOn, e.Amount, e.BankReference, e.Statement
	line, err := json.Marshal(fields)
	if err != nil {
		return l, err
	}
	r, err := ledger.SubmitAs(ctx, actor, line)
	switch {
	case err != nil:
		return l, err
	case r.OK && r.Duplicate:
		l.Outcome = "repeated"
	case r.OK:
		l.Outcome = done
	default:
		l.Outcome, l.Code, l.Detail = "refused", r.Error.Code, r.Error.Message
	}
	return l, nil
}

// noticeRef finds a notice's reference (INDU- and 12 hexadecimal digits)
// in a repayment's texts.
var noticeRef = regexp.MustCompile(`INDU-[0-9A-F]{12}`)

// importRepayment records a credit that quotes a notice as its repayment.
func importRepayment(ctx context.Context, ledger *app.Ledger, q *query.Ledger, e sepa.Entry, actor string, l Line) (Line, error) {
	refs := slices.Compact(slices.Sorted(slices.Values(noticeRef.FindAllString(strings.ToUpper(e.Remittance+" "+e.EndToEndID), -1))))
	switch {
	case len(refs) == 0:
		l.Outcome, l.Detail = "unrecognised", "a credit that returns no order and quotes no notice (INDU-…)"
		return l, nil
	case len(refs) > 1:
		// Which notice a payer meant is not for the ledger to guess.
		l.Outcome, l.Detail = "unrecognised", "a credit that quotes several notices ("+strings.Join(refs, ", ")+"): matched by hand"
		return l, nil
	}
	ref := refs[0]
	contract, overpayment, ok, err := q.NoticeOf(ctx, ref)
	if err != nil || !ok {
		l.Outcome, l.Detail = "unknown", "no notice "+ref
		return l, err
	}
	l.ContractID = &contract
	return submitEntry(ctx, ledger, actor, e, map[string]any{"type": domain.CmdRecordRepayment, "contract_id": contract, "overpayment": overpayment}, "repaid", l)
}

// WriteText writes the report for a person: the counts, then each line
// reported.
func (r ImportReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s: %d settled, %d returned, %d repaid, %d repeated, %d refused, %d unknown, %d pending, %d unrecognised\n", r.File,
		r.Counts["settled"], r.Counts["returned"], r.Counts["repaid"], r.Counts["repeated"], r.Counts["refused"], r.Counts["unknown"], r.Counts["pending"], r.Counts["unrecognised"])
	if len(r.Reported) == 0 {
		return nil
	}
	tw := textout.NewTable(w)
	fmt.Fprintln(tw, "OUTCOME\tSTATEMENT\tENTRY\tAMOUNT\tBOOKED\tEND TO END\tDETAIL\t")
	for _, l := range r.Reported {
		amount := l.Amount.String()
		if !l.Credit {
			amount = "-" + amount
		}
		detail := l.Detail
		if l.Code != "" {
			detail = l.Code + ": " + detail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%12s\t%s\t%s\t%s\t\n", l.Outcome, l.Statement, l.Index, amount, l.BookedOn, l.EndToEndID, detail)
	}
	return tw.Flush()
}
