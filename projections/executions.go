package projections

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
)

// executionsProjection keeps what became of the decided payments: each
// order of a payment run, and each booking or return a bank statement
// showed, one row per event, so that a payment's execution status as of a
// date and as known at a time is the last row the window sees.
type executionsProjection struct{}

func (executionsProjection) Name() string { return "executions" }
func (executionsProjection) Version() int { return 2 } // 2: the overpayment notices

func (executionsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS payment_executions (
	position      INTEGER PRIMARY KEY, -- the global position of the event
	contract_id   TEXT NOT NULL,
	scheme        TEXT NOT NULL,
	payment_id    TEXT NOT NULL,
	order_id      TEXT NOT NULL,
	end_to_end_id TEXT NOT NULL,       -- the order id as the transfer carries it
	run_id        TEXT NOT NULL,
	status        TEXT NOT NULL,       -- ordered, paid or returned
	on_date       TEXT NOT NULL,       -- execution date (ordered), booking date (paid, returned)
	amount        TEXT NOT NULL,
	amount_cents  INTEGER NOT NULL,
	reason_code   TEXT,                -- a return's ISO 20022 reason
	statement     TEXT,                -- the statement that booked or returned it
	recorded_at   TEXT NOT NULL
);

-- The overpayment notices: what each says, once sent (what became of
-- one — contested, decided, offset, repaid — is its contract's stream's
-- to say).
CREATE TABLE IF NOT EXISTS overpayment_notices (
	overpayment_id TEXT PRIMARY KEY,
	reference      TEXT NOT NULL UNIQUE, -- INDU-…, quoted on a repayment
	contract_id    TEXT NOT NULL,
	scheme         TEXT NOT NULL,
	amount         TEXT NOT NULL,
	notice_on      TEXT NOT NULL,
	deadline       TEXT NOT NULL,
	recorded_at    TEXT NOT NULL
) WITHOUT ROWID;`
}

func (executionsProjection) Indexes() []Index {
	return []Index{
		{Name: "executions_by_contract", On: "payment_executions (contract_id, position)"},
		{Name: "executions_by_end_to_end", On: "payment_executions (end_to_end_id)"},
		{Name: "notices_by_contract", On: "overpayment_notices (contract_id)"},
	}
}

func (executionsProjection) NewFold() Fold { return &executionsFold{} }
func (executionsProjection) Reads() []string {
	return []string{domain.TypePaymentOrdered, domain.TypePaymentSettled, domain.TypePaymentReturned, domain.TypeOverpaymentNotified}
}

type executionRow struct {
	position                                          int64
	contract, scheme, payment, order, run, status, on string
	amount                                            domain.Money
	reason, statement, recorded                       string
}

type executionsFold struct {
	rows    []executionRow
	notices []noticeRow
}

type noticeRow struct {
	n                          domain.OverpaymentNotified
	contract, scheme, recorded string
}

func (f *executionsFold) Held() int { return len(f.rows) + len(f.notices) }

func (f *executionsFold) Add(ev *Event) error {
	r := executionRow{position: int64(ev.Position), contract: ev.Contract.String(), scheme: ev.Scheme, recorded: recordedAt(ev)}
	switch e := ev.Payload.(type) {
	case domain.PaymentOrdered:
		r.payment, r.order, r.run, r.status, r.on, r.amount = e.PaymentID.String(), e.OrderID.String(), e.RunID, domain.ExecutionOrdered, e.ExecutionDate.String(), e.Amount
		if e.Amount.IsZero() && len(e.Offsets) > 0 {
			r.status = domain.ExecutionPaid // taken whole by an offset: nothing sent, nothing owed
		}
	case domain.PaymentSettled:
		r.payment, r.order, r.status, r.on, r.amount, r.statement = e.PaymentID.String(), e.OrderID.String(), domain.ExecutionPaid, e.BookedOn.String(), e.Amount, e.Statement
	case domain.OverpaymentNotified:
		f.notices = append(f.notices, noticeRow{n: e, contract: r.contract, scheme: r.scheme, recorded: r.recorded})
		return nil
	case domain.PaymentReturned:
		r.payment, r.order, r.status, r.on, r.amount, r.statement = e.PaymentID.String(), e.OrderID.String(), domain.ExecutionReturned, e.BookedOn.String(), e.Amount, e.Statement
		r.reason = e.ReasonCode
	default:
		return nil
	}
	f.rows = append(f.rows, r)
	return nil
}

func (f *executionsFold) Flush(ctx context.Context, w *Writer) error {
	for _, r := range f.rows {
		order, err := uuid.Parse(r.order)
		if err != nil {
			return fmt.Errorf("executions: order id %q: %w", r.order, err)
		}
		if err := w.Exec(ctx, `INSERT INTO payment_executions (position, contract_id, scheme, payment_id, order_id, end_to_end_id, run_id,
			status, on_date, amount, amount_cents, reason_code, statement, recorded_at)
			VALUES (?,?,?,?,?,?,COALESCE(NULLIF(?, ''), (SELECT run_id FROM payment_executions WHERE order_id = ? AND status = 'ordered'), ''),?,?,?,?,?,?,?)`,
			r.position, r.contract, r.scheme, r.payment, r.order, domain.EndToEndID(order), r.run, r.order, r.status, r.on,
			r.amount.String(), r.amount.Cents(), nullable(r.reason), nullable(r.statement), r.recorded); err != nil {
			return err
		}
	}
	f.rows = nil
	for _, r := range f.notices {
		if err := w.Exec(ctx, `INSERT INTO overpayment_notices (overpayment_id, reference, contract_id, scheme, amount, notice_on, deadline, recorded_at)
			VALUES (?,?,?,?,?,?,?,?)`, r.n.OverpaymentID.String(), r.n.Reference, r.contract, r.scheme, r.n.Amount.String(),
			r.n.NoticeOn.String(), r.n.Deadline.String(), r.recorded); err != nil {
			return err
		}
	}
	f.notices = nil
	return nil
}

// NoticeRow is an overpayment notice.
type NoticeRow struct {
	OverpaymentID, ContractID uuid.UUID
	Reference, Scheme         string
	Amount                    domain.Money
	NoticeOn, Deadline        domain.Date
}

// Notices returns the notices the window sees (sent on or before its date,
// recorded by its time), of one contract or all (uuid.Nil), oldest first.
func (db *DB) Notices(ctx context.Context, contract uuid.UUID, w Window) ([]NoticeRow, error) {
	q := `SELECT overpayment_id, contract_id, reference, scheme, amount, notice_on, deadline FROM overpayment_notices
		WHERE notice_on <= ? AND recorded_at <= ?`
	args := []any{w.asOf(), w.knownAt()}
	if contract != uuid.Nil {
		q, args = q+` AND contract_id = ?`, append(args, contract.String())
	}
	return db.notices(ctx, q+` ORDER BY notice_on, reference`, args...)
}

// NoticeOf returns the notice a reference (INDU-…) names; ok is false when
// none does.
func (db *DB) NoticeOf(ctx context.Context, reference string) (NoticeRow, bool, error) {
	ns, err := db.notices(ctx, `SELECT overpayment_id, contract_id, reference, scheme, amount, notice_on, deadline FROM overpayment_notices
		WHERE reference = ?`, reference)
	if err != nil || len(ns) == 0 {
		return NoticeRow{}, false, err
	}
	return ns[0], true, nil
}

func (db *DB) notices(ctx context.Context, q string, args ...any) ([]NoticeRow, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []NoticeRow{}
	for rows.Next() {
		var n NoticeRow
		var id, contract, amount, on, deadline string
		if err := rows.Scan(&id, &contract, &n.Reference, &n.Scheme, &amount, &on, &deadline); err != nil {
			return nil, err
		}
		s := &stored{}
		n.OverpaymentID, n.ContractID, n.NoticeOn, n.Deadline = s.id(id), s.id(contract), s.date(on), s.date(deadline)
		var perr error
		if n.Amount, perr = domain.ParseMoney(amount); perr != nil {
			s.fail("amount", amount, perr)
		}
		if err := s.check("overpayment_notices"); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ExecutionRow is one order, booking or return.
type ExecutionRow struct {
	Position                  int64
	ContractID, PaymentID     uuid.UUID
	OrderID                   uuid.UUID
	EndToEndID, RunID, Status string
	On                        domain.Date
	Amount                    domain.Money
	ReasonCode, Statement     string
}

const executionColumns = `position, contract_id, payment_id, order_id, end_to_end_id, run_id, status, on_date, amount,
	COALESCE(reason_code, ''), COALESCE(statement, '')`

// Executions returns a contract's orders, bookings and returns the window
// sees (dated on or before its date, recorded by its time), in the order
// recorded.
func (db *DB) Executions(ctx context.Context, contract uuid.UUID, w Window) ([]ExecutionRow, error) {
	return db.executions(ctx, `WHERE contract_id = ? AND on_date <= ? AND recorded_at <= ? ORDER BY position`,
		contract.String(), w.asOf(), w.knownAt())
}

// ExecutionsWithin returns every order, booking and return the window
// sees, by contract then position.
func (db *DB) ExecutionsWithin(ctx context.Context, w Window) ([]ExecutionRow, error) {
	return db.executions(ctx, `WHERE on_date <= ? AND recorded_at <= ? ORDER BY contract_id, position`, w.asOf(), w.knownAt())
}

// RunContracts returns the contracts a payment run ordered payments of.
func (db *DB) RunContracts(ctx context.Context, runID string) ([]uuid.UUID, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT DISTINCT contract_id FROM payment_executions WHERE run_id = ? ORDER BY contract_id`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("payment_executions: contract id %q: %w", s, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// OrderOf returns the order a transfer's end-to-end id names; ok is false
// when no order has it.
func (db *DB) OrderOf(ctx context.Context, endToEnd string) (ExecutionRow, bool, error) {
	rows, err := db.executions(ctx, `WHERE end_to_end_id = ? AND status = 'ordered' ORDER BY position LIMIT 1`, endToEnd)
	if err != nil || len(rows) == 0 {
		return ExecutionRow{}, false, err
	}
	return rows[0], true, nil
}

func (db *DB) executions(ctx context.Context, where string, args ...any) ([]ExecutionRow, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+executionColumns+` FROM payment_executions `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ExecutionRow{}
	for rows.Next() {
		var r ExecutionRow
		var contract, payment, order, on, amount string
		if err := rows.Scan(&r.Position, &contract, &payment, &order, &r.EndToEndID, &r.RunID, &r.Status, &on, &amount, &r.ReasonCode, &r.Statement); err != nil {
			return nil, err
		}
		s := &stored{}
		r.ContractID, r.PaymentID, r.OrderID, r.On = s.id(contract), s.id(payment), s.id(order), s.date(on)
		var perr error
		if r.Amount, perr = domain.ParseMoney(amount); perr != nil {
			s.fail("amount", amount, perr)
		}
		if err := s.check("payment_executions"); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
