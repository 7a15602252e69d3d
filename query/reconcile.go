package query

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/projections"
)

// Reconciliation is a month of a CPAM's payments (or every CPAM's) from
// decision to the bank: what happened in the month, where every payment
// due by its end stands at its end, and each one not paid.
//
// The identity it checks, for the payments of a positive amount due by
// the month's end, as of that end: due = paid + ordered (not yet booked)
// + returned (not ordered again) + not ordered. Each term is a status, so
// the identity holds by construction of the statuses; what it shows is
// that every euro due is in exactly one place, and Differences names each
// one that is not paid.
type Reconciliation struct {
	Month string `json:"month"`
	CPAM  string `json:"cpam,omitempty"`
	// From, when set, leaves out the payments due before it: the day the
	// ledger took over the payments (pay run --from).
	From *domain.Date `json:"from,omitempty"`
	// What happened in the month: decided (positive amounts decided in
	// it), ordered (execution dates in it), paid and returned (booked in
	// it).
	DecidedInMonth  domain.Money `json:"decided_in_month"`
	OrderedInMonth  domain.Money `json:"ordered_in_month"`
	PaidInMonth     domain.Money `json:"paid_in_month"`
	ReturnedInMonth domain.Money `json:"returned_in_month"`
	// Where the payments due by the month's end stand at its end.
	Due         domain.Money `json:"due"`
	Paid        domain.Money `json:"paid"`
	Ordered     domain.Money `json:"ordered"`
	Returned    domain.Money `json:"returned"`
	NotOrdered  domain.Money `json:"not_ordered"`
	Outstanding domain.Money `json:"outstanding"`
	Balanced    bool         `json:"balanced"`
	Differences []Difference `json:"differences"`
}

// Difference is a payment due by the month's end and not paid at its end.
type Difference struct {
	ContractID      uuid.UUID    `json:"contract_id"`
	Beneficiary     string       `json:"beneficiary"`
	CPAM            string       `json:"cpam"`
	PaymentID       uuid.UUID    `json:"payment_id"`
	Kind            string       `json:"kind"`
	ContractYear    int          `json:"contract_year"`
	DueOn           domain.Date  `json:"due_on"`
	Amount          domain.Money `json:"amount"`
	ExecutionStatus string       `json:"execution_status"`
}

// ParseMonth reads YYYY-MM and returns its first and last days.
func ParseMonth(s string) (first, last domain.Date, err error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return first, last, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	first = domain.NewDate(t.Year(), t.Month(), 1)
	return first, first.AddMonths(1).AddDays(-1), nil
}

// Reconcile returns the month's reconciliation, for the CPAM named or all,
// of the payments due from the day from (zero: all), as the ledger knows
// it now (known: as it knew it then).
func (l *Ledger) Reconcile(ctx context.Context, month, cpam string, from domain.Date, known Window) (Reconciliation, error) {
	r := Reconciliation{Month: month, CPAM: cpam, Differences: []Difference{}}
	if !from.IsZero() {
		r.From = &from
	}
	first, last, err := ParseMonth(month)
	if err != nil {
		return r, domain.Violations{{Code: domain.CodeInvalidValue, Field: "month", Rule: err.Error()}}.Err()
	}
	w := Window{AsOf: last, KnownAt: known.KnownAt, Known: known.Known}
	err = l.with(ctx, func(db *projections.DB) error {
		parties, _, err := exportParties(ctx, db, w)
		if err != nil {
			return err
		}
		ex, err := db.ExecutionsWithin(ctx, w)
		if err != nil {
			return err
		}
		in := func(d domain.Date) bool { return !d.Before(first) && !d.After(last) }
		for _, e := range ex {
			if !in(e.On) || (cpam != "" && !domain.SameCPAM(parties[e.ContractID].CPAM, cpam)) {
				continue
			}
			switch e.Status {
			case domain.ExecutionOrdered:
				r.OrderedInMonth = r.OrderedInMonth.Add(e.Amount)
			case domain.ExecutionPaid:
				r.PaidInMonth = r.PaidInMonth.Add(e.Amount)
			case domain.ExecutionReturned:
				r.ReturnedInMonth = r.ReturnedInMonth.Add(e.Amount)
			}
		}
		status := executions(ex)
		return db.EachPayment(ctx, w, func(p projections.PaymentRow) error {
			c := parties[p.ContractID]
			if p.Amount.Sign() <= 0 || (cpam != "" && !domain.SameCPAM(c.CPAM, cpam)) {
				return nil
			}
			if in(p.DecidedOn) {
				r.DecidedInMonth = r.DecidedInMonth.Add(p.Amount)
			}
			if p.DueOn.After(last) || (!from.IsZero() && p.DueOn.Before(from)) {
				return nil
			}
			r.add(c, p, status[p.PaymentID])
			return nil
		})
	})
	r.Outstanding = r.Due.Sub(r.Paid)
	r.Balanced = r.Due.Equal(r.Paid.Add(r.Ordered).Add(r.Returned).Add(r.NotOrdered))
	return r, err
}

// add counts a payment due by the month's end where it stands.
func (r *Reconciliation) add(c projections.SummaryRow, p projections.PaymentRow, status string) {
	if status == "" {
		status = domain.ExecutionDecided
	}
	r.Due = r.Due.Add(p.Amount)
	switch status {
	case domain.ExecutionPaid:
		r.Paid = r.Paid.Add(p.Amount)
		return
	case domain.ExecutionOrdered:
		r.Ordered = r.Ordered.Add(p.Amount)
	case domain.ExecutionReturned:
		r.Returned = r.Returned.Add(p.Amount)
	default:
		r.NotOrdered = r.NotOrdered.Add(p.Amount)
	}
	r.Differences = append(r.Differences, Difference{ContractID: p.ContractID, Beneficiary: c.Name, CPAM: c.CPAM, PaymentID: p.PaymentID,
		Kind: p.Kind, ContractYear: p.ContractYear, DueOn: p.DueOn, Amount: p.Amount, ExecutionStatus: status})
}
