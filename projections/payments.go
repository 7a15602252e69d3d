package projections

import (
	"context"

	"github.com/cptsledger/ledger/domain"
)

// payments: every decision with its lines, and (a view) per contract and
// contract year what was decided and what was regularised, for SQL users. Amounts
// are kept twice: as text with two decimals, exactly as decided, and as
// integer cents for sums in SQL.
type paymentsProjection struct{}

func (paymentsProjection) Name() string { return "payments" }
func (paymentsProjection) Version() int { return 4 } // 4: withheld, lines with their formula

func (paymentsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS payments (
	position      INTEGER PRIMARY KEY, -- the global position of the PaymentDecided event
	payment_id    TEXT NOT NULL,
	contract_id   TEXT NOT NULL,
	scheme        TEXT NOT NULL,
	kind          TEXT NOT NULL,
	contract_year INTEGER NOT NULL,
	mission       TEXT,
	due_on        TEXT NOT NULL,
	decided_on    TEXT NOT NULL,
	status        TEXT NOT NULL,
	amount        TEXT NOT NULL,
	amount_cents  INTEGER NOT NULL,
	rulebook      TEXT NOT NULL,
	aid_table     TEXT,          -- the aid table used (medical-assistant aid)
	rule          TEXT NOT NULL,
	reason        TEXT,
	withheld      TEXT,          -- a withheld payment: JSON {code, on, late}, the reason as codes and facts
	lines         TEXT NOT NULL, -- JSON array of {mission, component, amount, basis, formula}; see the payment_lines view
	corrects      TEXT,          -- a regularisation: JSON array of the payment ids it corrects
	recorded_at   TEXT NOT NULL
);

-- One row per breakdown line, for SQL users.
CREATE VIEW IF NOT EXISTS payment_lines AS
	SELECT p.payment_id, p.contract_id, l.key AS line, l.value ->> 'mission' AS mission, l.value ->> 'component' AS component,
		l.value ->> 'amount' AS amount, CAST(replace(l.value ->> 'amount', '.', '') AS INTEGER) AS amount_cents,
		l.value ->> 'basis' AS basis, l.value ->> '$.formula.code' AS formula
	FROM payments p, json_each(p.lines) l;

-- Per contract and contract year: what was decided and regularised.
CREATE VIEW IF NOT EXISTS balances AS
	SELECT contract_id, contract_year,
		SUM(CASE WHEN kind = 'regularisation' THEN 0 ELSE amount_cents END) AS decided_cents, -- decisions other than regularisations
		SUM(CASE WHEN kind = 'regularisation' THEN amount_cents ELSE 0 END) AS regularised_cents,
		COUNT(*) AS payments
	FROM payments GROUP BY contract_id, contract_year;

-- Totals for finance teams: decided amounts per calendar year of decision,
-- by scheme, by CPAM, by ARS and by tier. Sums are over integer cents (exact).
CREATE VIEW IF NOT EXISTS totals_by_year AS
	SELECT substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p GROUP BY 1;
CREATE VIEW IF NOT EXISTS totals_by_scheme AS
	SELECT p.scheme, substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p GROUP BY 1, 2;
CREATE VIEW IF NOT EXISTS totals_by_cpam AS
	SELECT COALESCE(c.cpam, a.cpam) AS cpam, substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p LEFT JOIN contracts c USING (contract_id) LEFT JOIN aid_contracts a USING (contract_id) GROUP BY 1, 2;
CREATE VIEW IF NOT EXISTS totals_by_ars AS
	SELECT c.ars, substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p JOIN contracts c USING (contract_id) GROUP BY 1, 2;
CREATE VIEW IF NOT EXISTS totals_by_tier AS
	SELECT c.tier, substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p JOIN contracts c USING (contract_id) GROUP BY 1, 2;`
}

func (paymentsProjection) Indexes() []Index {
	return []Index{{Name: "payments_by_contract", On: "payments (contract_id, position)"}}
}

func (paymentsProjection) NewFold() Fold   { return &paymentsFold{} }
func (paymentsProjection) Reads() []string { return []string{domain.TypePaymentDecided} }

// paymentRow is what a fold keeps of a payment until it is written.
type paymentRow struct {
	position   int64
	contract   string
	scheme     string
	recordedAt string
	p          domain.PaymentRecord
}

type paymentsFold struct{ rows []paymentRow }

func (f *paymentsFold) Held() int { return len(f.rows) }

func (f *paymentsFold) Add(ev *Event) error {
	p, ok := ev.Payload.(domain.PaymentRecord)
	if !ok {
		return nil // every scheme decides payments with the same shape
	}
	f.rows = append(f.rows, paymentRow{position: int64(ev.Position), contract: ev.Contract.String(), scheme: ev.Scheme,
		recordedAt: recordedAt(ev), p: p})
	return nil
}

func (f *paymentsFold) Flush(ctx context.Context, w *Writer) error {
	for _, r := range f.rows {
		p := &r.p
		if err := w.Exec(ctx, `INSERT INTO payments (position, payment_id, contract_id, scheme, kind, contract_year, mission, due_on, decided_on,
			status, amount, amount_cents, rulebook, aid_table, rule, reason, withheld, lines, corrects, recorded_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			r.position, p.PaymentID.String(), r.contract, r.scheme, p.Kind, p.ContractYear, nullable(p.Mission), p.DueOn.String(),
			p.DecidedOn.String(), p.Status, p.Amount.String(), p.Amount.Cents(), p.Rulebook, nullable(p.Table), p.Rule, nullable(p.Reason),
			p.JSON(p.Withheld), string(p.Lines), p.JSON(p.Corrects), r.recordedAt); err != nil {
			return err
		}
	}
	f.rows = nil
	return nil
}
