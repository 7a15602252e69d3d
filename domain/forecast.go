package domain

import (
	"slices"

	"github.com/google/uuid"
)

// KindReportAwaited is what the schedule lists for a contract year that has
// ended without the report its balance (or the next instalment) waits for.
const KindReportAwaited = "report_awaited"

// Due is something that falls due for a contract: a payment the facts make
// due and that is not decided yet, with the amount DecideDuePayments would
// decide (nil for a report awaited), or a report awaited.
type Due struct {
	ContractID   uuid.UUID
	Kind         string
	ContractYear int
	Mission      string
	DueOn        Date
	Amount       *Money
	Status       string // of a payment: decided or withheld
}

// DuesOf is what falls due by the events of a dry run of
// DecideDuePayments: its payments (PaymentsDue); the other events it
// gives (a fact noted) fall due for no one. Both schemes' forecasts begin
// with it.
func DuesOf(events []Event) []Due {
	var ps []PaymentDecided
	for _, e := range events {
		if p, ok := e.(PaymentDecided); ok {
			ps = append(ps, p)
		}
	}
	return PaymentsDue(ps)
}

// PaymentsDue turns the decisions of a dry run of DecideDuePayments into
// what falls due.
func PaymentsDue(ps []PaymentDecided) []Due {
	out := make([]Due, 0, len(ps))
	for _, p := range ps {
		amount := p.Amount
		out = append(out, Due{ContractID: p.ContractID, Kind: p.Kind, ContractYear: p.ContractYear, Mission: p.Mission,
			DueOn: p.DueOn, Amount: &amount, Status: p.Status})
	}
	return out
}

// Net is what a decision leaves to pay once the amounts to recover that
// came before it are offset against it.
type Net struct {
	ToPay  Money // 0 for a decision to recover
	Offset Money // the part of the decision that settles earlier recoveries
}

// NetOff walks a contract's decisions in the order they were made: a
// negative one (a recovery, a negative instalment, a negative
// regularisation) is money to recover; the fund offsets it against the
// positive decisions that follow, oldest recovery first (CSS art.
// R.133-9-1: an uncontested amount may be offset against later payments).
// It returns, per decision, what is left to pay, and per contract year
// what remains to recover. Decided amounts never change: this is a view.
func NetOff(ps []PaymentDecided) ([]Net, map[int]Money) {
	type owed struct {
		year   int
		amount Money
	}
	var queue []owed
	out := make([]Net, len(ps))
	for i, p := range ps {
		switch {
		case p.Amount.Sign() < 0:
			queue = append(queue, owed{p.ContractYear, p.Amount.Neg()})
		case p.Amount.Sign() > 0:
			left := p.Amount
			for len(queue) > 0 && left.Sign() > 0 {
				take := queue[0].amount
				if take.Cmp(left) > 0 {
					take = left
				}
				queue[0].amount = queue[0].amount.Sub(take)
				left = left.Sub(take)
				out[i].Offset = out[i].Offset.Add(take)
				if queue[0].amount.IsZero() {
					queue = slices.Delete(queue, 0, 1)
				}
			}
			out[i].ToPay = left
		}
	}
	outstanding := map[int]Money{}
	for _, o := range queue {
		outstanding[o.year] = outstanding[o.year].Add(o.amount)
	}
	return out, outstanding
}
