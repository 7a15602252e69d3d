package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Overpayments (indus), CSS art. L.133-4 and R.133-9-1 (domain.md §6): a
// decision of a negative amount (a recovery, a regularisation that takes
// back) is money the beneficiary owes. The next payment run notifies it —
// a notice stating the cause, the amount, the payments it comes from and
// the dates — and the beneficiary has two months to repay it or to
// contest it before the Commission de recours amiable. Contested, it is
// suspended until the contest is decided (upheld, reduced or cancelled).
// Uncontested after the two months, or upheld or reduced, what remains is
// offset against the next payments ordered to the same beneficiary; a
// repayment found in a bank statement settles it too.

// Command and event types of the overpayments: shared by every scheme.
const (
	CmdContestOverpayment = "ContestOverpayment"
	CmdDecideContest      = "DecideContest"
	CmdRecordRepayment    = "RecordRepayment"

	TypeOverpaymentNotified  = "OverpaymentNotified"
	TypeOverpaymentContested = "OverpaymentContested"
	TypeContestDecided       = "ContestDecided"
	TypeOverpaymentRepaid    = "OverpaymentRepaid"
)

// NoticeMonths is the time a beneficiary has to repay or contest a notice.
const NoticeMonths = 2

// Outcomes of a contest.
const (
	OutcomeUpheld    = "upheld"
	OutcomeReduced   = "reduced"
	OutcomeCancelled = "cancelled"
)

// States of an overpayment, on a day.
const (
	StateNotified   = "notified"   // within its two months, not contested
	StateContested  = "contested"  // suspended until the contest is decided
	StateOffsetting = "offsetting" // owed: offset against the next payments
	StateSettled    = "settled"    // nothing left: offset or repaid
	StateCancelled  = "cancelled"  // the contest cancelled it
)

// OverpaymentNotified: a notice sent for the payments that take money back.
type OverpaymentNotified struct {
	ContractID    uuid.UUID   `json:"contract_id"`
	OverpaymentID uuid.UUID   `json:"overpayment_id"`
	Reference     string      `json:"reference"`
	Amount        Money       `json:"amount"`
	Payments      []uuid.UUID `json:"payments"`
	Cause         string      `json:"cause"`
	NoticeOn      Date        `json:"notice_on"`
	Deadline      Date        `json:"deadline"`
	RunID         string      `json:"run_id"`
}

// OverpaymentContested: the beneficiary contests the notice.
type OverpaymentContested struct {
	ContractID    uuid.UUID `json:"contract_id"`
	OverpaymentID uuid.UUID `json:"overpayment_id"`
	ContestedOn   Date      `json:"contested_on"`
	Reason        string    `json:"reason"`
}

// ContestDecided: the commission's decision; Amount is what remains owed
// (the notice's when upheld, less when reduced, 0 when cancelled).
type ContestDecided struct {
	ContractID    uuid.UUID `json:"contract_id"`
	OverpaymentID uuid.UUID `json:"overpayment_id"`
	Outcome       string    `json:"outcome"`
	Amount        Money     `json:"amount"`
	DecidedOn     Date      `json:"decided_on"`
	Reason        string    `json:"reason"`
}

// OverpaymentRepaid: a repayment found in a bank statement.
type OverpaymentRepaid struct {
	ContractID    uuid.UUID `json:"contract_id"`
	OverpaymentID uuid.UUID `json:"overpayment_id"`
	Amount        Money     `json:"amount"`
	BookedOn      Date      `json:"booked_on"`
	BankReference string    `json:"bank_reference,omitempty"`
	Statement     string    `json:"statement"`
}

func (OverpaymentNotified) EventType() string     { return TypeOverpaymentNotified }
func (e OverpaymentNotified) BusinessDate() Date  { return e.NoticeOn }
func (OverpaymentContested) EventType() string    { return TypeOverpaymentContested }
func (e OverpaymentContested) BusinessDate() Date { return e.ContestedOn }
func (ContestDecided) EventType() string          { return TypeContestDecided }
func (e ContestDecided) BusinessDate() Date       { return e.DecidedOn }
func (OverpaymentRepaid) EventType() string       { return TypeOverpaymentRepaid }
func (e OverpaymentRepaid) BusinessDate() Date    { return e.BookedOn }

// ContestOverpayment contests a notice, on the day it is recorded at the
// latest (an act: contested_on may not be before the recording day).
type ContestOverpayment struct {
	CommandMeta
	Overpayment uuid.UUID
	ContestedOn Date
	Reason      string
}

// DecideContest records the commission's decision on a contest.
type DecideContest struct {
	CommandMeta
	Overpayment uuid.UUID
	Outcome     string
	Amount      Money // when reduced
	DecidedOn   Date
	Reason      string
}

// RecordRepayment records a repayment a statement shows.
type RecordRepayment struct {
	CommandMeta
	Overpayment uuid.UUID
	BankEntry
}

func (ContestOverpayment) CommandType() string { return CmdContestOverpayment }
func (DecideContest) CommandType() string      { return CmdDecideContest }
func (RecordRepayment) CommandType() string    { return CmdRecordRepayment }

// Stamp dates a contest sent without contested_on on the day recorded.
func (c ContestOverpayment) Stamp(day Date) Command {
	if c.ContestedOn.IsZero() {
		c.ContestedOn = day
	}
	return c
}

// Stamp dates a decision sent without decided_on on the day recorded.
func (c DecideContest) Stamp(day Date) Command {
	if c.DecidedOn.IsZero() {
		c.DecidedOn = day
	}
	return c
}

// ActDate makes a contest an act dated on its recording day.
func (c ContestOverpayment) ActDate() (string, Date) { return "contested_on", c.ContestedOn }

// ActDate makes a decision an act dated on its recording day.
func (c DecideContest) ActDate() (string, Date) { return "decided_on", c.DecidedOn }

// Overpayment is a notice and what followed it.
type Overpayment struct {
	OverpaymentNotified
	Contest  *OverpaymentContested
	Decision *ContestDecided
	Repaid   Money
	Offset   Money
	// RepaidOn is the day of the last repayment booked.
	RepaidOn Date
}

// Owed is what the notice, or the contest's decision, says is owed.
func (o Overpayment) Owed() Money {
	if o.Decision != nil {
		return o.Decision.Amount
	}
	return o.Amount
}

// Remaining is what is still owed.
func (o Overpayment) Remaining() Money { return o.Owed().Sub(o.Repaid).Sub(o.Offset) }

// State is the overpayment's state on day d.
func (o Overpayment) State(d Date) string {
	switch {
	case o.Decision != nil && o.Decision.Outcome == OutcomeCancelled:
		return StateCancelled
	case o.Remaining().Sign() <= 0:
		return StateSettled
	case o.Contest != nil && o.Decision == nil:
		return StateContested
	case o.Decision == nil && !d.After(o.Deadline):
		return StateNotified
	}
	return StateOffsetting
}

// NoticeReference is how a notice is quoted on a repayment's transfer:
// "INDU-" and the first 12 hexadecimal digits of its id.
func NoticeReference(id uuid.UUID) string { return "INDU-" + strings.ToUpper(EndToEndID(id)[:12]) }

// applyOverpayment folds an overpayment event; ok is false for any other.
func (t *Treasury) applyOverpayment(e Event) (ok bool, err error) {
	find := func(id uuid.UUID) (*Overpayment, error) {
		i := slices.IndexFunc(t.Overpayments, func(o Overpayment) bool { return o.OverpaymentID == id })
		if i < 0 {
			return nil, fmt.Errorf("treasury: unknown overpayment %s", id)
		}
		return &t.Overpayments[i], nil
	}
	switch e := e.(type) {
	case OverpaymentNotified:
		t.Overpayments = append(t.Overpayments, Overpayment{OverpaymentNotified: e})
	case OverpaymentContested:
		o, err := find(e.OverpaymentID)
		if err == nil {
			o.Contest = &e
		}
		return true, err
	case ContestDecided:
		o, err := find(e.OverpaymentID)
		if err == nil {
			o.Decision = &e
		}
		return true, err
	case OverpaymentRepaid:
		o, err := find(e.OverpaymentID)
		if err == nil {
			o.Repaid, o.RepaidOn = o.Repaid.Add(e.Amount), MaxDate(o.RepaidOn, e.BookedOn)
		}
		return true, err
	default:
		return false, nil
	}
	return true, nil
}

// notified tells whether a payment (of a negative amount) is in a notice.
func (t *Treasury) notified(payment uuid.UUID) bool {
	return slices.ContainsFunc(t.Overpayments, func(o Overpayment) bool { return slices.Contains(o.Payments, payment) })
}
