package query

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/projections"
)

// Overpayment is a notice and where it stands on the window's date.
type Overpayment struct {
	OverpaymentID uuid.UUID    `json:"overpayment_id"`
	Reference     string       `json:"reference"`
	ContractID    uuid.UUID    `json:"contract_id"`
	Scheme        string       `json:"scheme"`
	Beneficiary   string       `json:"beneficiary"`
	CPAM          string       `json:"cpam"`
	Cause         string       `json:"cause"`
	Payments      []uuid.UUID  `json:"payments"`
	Amount        domain.Money `json:"amount"`
	NoticeOn      domain.Date  `json:"notice_on"`
	Deadline      domain.Date  `json:"deadline"`
	State         string       `json:"state"`
	Owed          domain.Money `json:"owed"`
	Offset        domain.Money `json:"offset"`
	Repaid        domain.Money `json:"repaid"`
	Remaining     domain.Money `json:"remaining"`
	ContestedOn   *domain.Date `json:"contested_on,omitempty"`
	ContestReason string       `json:"contest_reason,omitempty"`
	Outcome       string       `json:"outcome,omitempty"`
	DecidedOn     *domain.Date `json:"decided_on,omitempty"`
}

// Overpayments returns the notices the window sees, of one contract or all
// (uuid.Nil), each as its contract's stream says it stands on the window's
// date (today when none).
func (l *Ledger) Overpayments(ctx context.Context, contract uuid.UUID, w Window) ([]Overpayment, error) {
	var notices []projections.NoticeRow
	var parties map[uuid.UUID]projections.SummaryRow
	err := l.with(ctx, func(db *projections.DB) (err error) {
		if notices, err = db.Notices(ctx, contract, w); err != nil {
			return err
		}
		parties, _, err = exportParties(ctx, db, w)
		return err
	})
	if err != nil {
		return nil, err
	}
	on := w.AsOf
	if on.IsZero() {
		on = today()
	}
	out := []Overpayment{}
	states := map[uuid.UUID]domain.Payee{}
	for _, n := range notices {
		p, ok := states[n.ContractID]
		if !ok {
			st, err := l.stateAt(ctx, n.ContractID, w)
			if err != nil {
				return nil, err
			}
			pay, isPayable := st.(domain.Payable)
			if !isPayable {
				return nil, fmt.Errorf("query: contract %s cannot be paid", n.ContractID)
			}
			p = pay.Payee()
			states[n.ContractID] = p
		}
		for _, o := range p.Treasury.Overpayments {
			if o.OverpaymentID == n.OverpaymentID {
				out = append(out, overpaymentOf(o, parties[n.ContractID], n.Scheme, on))
			}
		}
	}
	return out, nil
}

func overpaymentOf(o domain.Overpayment, c projections.SummaryRow, scheme string, on domain.Date) Overpayment {
	v := Overpayment{OverpaymentID: o.OverpaymentID, Reference: o.Reference, ContractID: o.ContractID, Scheme: scheme, Beneficiary: c.Name,
		CPAM: c.CPAM, Cause: o.Cause, Payments: o.Payments, Amount: o.Amount, NoticeOn: o.NoticeOn, Deadline: o.Deadline,
		State: o.State(on), Owed: o.Owed(), Offset: o.Offset, Repaid: o.Repaid, Remaining: o.Remaining()}
	if c := o.Contest; c != nil {
		d := c.ContestedOn
		v.ContestedOn, v.ContestReason = &d, c.Reason
	}
	if d := o.Decision; d != nil {
		on := d.DecidedOn
		v.Outcome, v.DecidedOn = d.Outcome, &on
	}
	if v.Remaining.Sign() < 0 || v.State == domain.StateCancelled {
		v.Remaining = domain.Zero
	}
	return v
}

// NoticeOf returns the contract and the overpayment a notice's reference
// (INDU-…, quoted on a repayment) names; ok is false when none does.
func (l *Ledger) NoticeOf(ctx context.Context, reference string) (contract, overpayment uuid.UUID, ok bool, err error) {
	err = l.with(ctx, func(db *projections.DB) error {
		n, found, err := db.NoticeOf(ctx, reference)
		contract, overpayment, ok = n.ContractID, n.OverpaymentID, found
		return err
	})
	return contract, overpayment, ok, err
}
